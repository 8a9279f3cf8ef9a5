package dev.tract.cli;

import dev.tract.worker.TractWorker;
import dev.tract.worker.WorkerConfig;
import dev.tract.workflows.spec.Destinations;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "worker", mixinStandardHelpOptions = true,
        description = "Run a worker: polls Temporal for pipeline workflows and activities. On SIGTERM it stops "
                + "polling, lets running training checkpoint, and exits.")
final class WorkerCommand implements Callable<Integer> {
    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Option(names = "--temporal", defaultValue = "${env:TEMPORAL_ADDRESS:-localhost:7233}",
            description = "Temporal frontend host:port (default: ${DEFAULT-VALUE})")
    String temporal;

    @Option(names = "--namespace", defaultValue = "${env:TEMPORAL_NAMESPACE:-default}",
            description = "default: ${DEFAULT-VALUE}")
    String namespace;

    @Option(names = "--task-queues", split = ",", defaultValue = "${env:TRACT_TASK_QUEUES:-tract-gpu,tract-cpu}",
            description = "queues to poll; names ending in 'gpu' run the model (default: ${DEFAULT-VALUE})")
    List<String> taskQueues;

    @Option(names = "--max-concurrent-activities", defaultValue = "${env:TRACT_MAX_CONCURRENT_ACTIVITIES:-1}",
            description = "per queue (default: ${DEFAULT-VALUE})")
    int maxConcurrent;

    @Option(names = "--work-dir", description = "local folder for models and checkpoints (default: $TRACT_WORK_DIR "
            + "or the temp folder)")
    Path workDir;

    @Option(names = "--device", defaultValue = "${env:TRACT_DEVICE:-auto}", description = "default: ${DEFAULT-VALUE}")
    String device;

    @Option(names = "--generation-batch", defaultValue = "${env:TRACT_GENERATION_BATCH:-8}",
            description = "prompts per generation batch (default: ${DEFAULT-VALUE})")
    int generationBatch;

    @Option(names = "--shutdown-grace", defaultValue = "${env:TRACT_SHUTDOWN_GRACE_SECONDS:-120}",
            description = "seconds a SIGTERM waits for running activities to checkpoint (default: ${DEFAULT-VALUE})")
    int grace;

    @Option(names = "--health-port", defaultValue = "${env:TRACT_HEALTH_PORT:-0}",
            description = "serve GET /healthz on this port (200 while polling, 503 once stopping); 0 = off")
    int healthPort;

    @Option(names = "--allow-fault-injection", description = "honour TRACT_CHAOS (for tests and `tract chaos`; "
            + "the worker then halts itself on purpose). Without it TRACT_CHAOS is ignored")
    boolean allowFaultInjection;

    @Override
    public Integer call() throws Exception {
        WorkerConfig config = new WorkerConfig(temporal, namespace, taskQueues, maxConcurrent,
                workDir != null ? workDir : WorkerConfig.defaultWorkDir(), device, generationBatch,
                Duration.ofSeconds(grace)).withDestinations(Destinations.fromEnv(System.getenv()));
        if (config.destinations() == null) {
            spec.commandLine().getErr().println("tract worker: WARNING no destinations configured: this worker "
                    + "reads data, writes artifacts and sends its tracking credentials wherever a spec says; set "
                    + Destinations.DATA_ROOTS + ", " + Destinations.ARTIFACT_ROOTS + " and "
                    + Destinations.TRACKING_URIS);
        }
        TractWorker worker = TractWorker.connect(config, allowFaultInjection);
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            double seconds = worker.shutdown();
            spec.commandLine().getErr().printf("tract worker: stopped in %.1f s%n", seconds);
            spec.commandLine().getErr().flush();
            stopped.countDown();
        }));
        worker.start();
        if (healthPort > 0) {
            com.sun.net.httpserver.HttpServer health = com.sun.net.httpserver.HttpServer.create(
                    new java.net.InetSocketAddress(healthPort), 0);
            health.createContext("/healthz", ex -> {
                boolean up = stopped.getCount() > 0 && !worker.isStopping();
                byte[] body = (up ? "ok" : "stopping").getBytes(java.nio.charset.StandardCharsets.UTF_8);
                ex.sendResponseHeaders(up ? 200 : 503, body.length);
                ex.getResponseBody().write(body);
                ex.close();
            });
            health.setExecutor(null);
            health.start();
        }
        spec.commandLine().getErr().printf("tract worker: polling %s on %s (namespace %s)%n", taskQueues, temporal,
                namespace);
        spec.commandLine().getErr().flush();
        stopped.await();
        return 0;
    }
}
