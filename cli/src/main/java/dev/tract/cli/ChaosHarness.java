package dev.tract.cli;

import dev.tract.activities.artifacts.ArtifactStore;
import dev.tract.activities.artifacts.ArtifactStores;
import dev.tract.activities.artifacts.Digests;
import dev.tract.judge.data.CanonicalJson;
import dev.tract.judge.data.SyntheticTask;
import dev.tract.worker.EmbeddedTemporal;
import dev.tract.worker.TractWorker;
import dev.tract.worker.WorkerConfig;
import dev.tract.workflows.Pipelines;
import dev.tract.workflows.Values;
import dev.tract.workflows.spec.PipelineSpec;
import dev.tract.workflows.spec.SpecParser;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;

/**
 * Runs pipelines with their model activities on GPU-queue workers that are separate JVM processes, so that they
 * can be killed (SIGKILL) or stopped (SIGTERM) at chosen points, as spot instances are; Temporal's test server and
 * a CPU-queue worker (workflows, data, reports) live on in this process. Compares the outcome with an
 * uninterrupted run of the same spec. Used by `tract chaos` and the kill tests.
 */
final class ChaosHarness implements AutoCloseable {
    private final Path dir;
    private final EmbeddedTemporal temporal;
    private final TractWorker cpuWorker;
    private final List<Process> workers = new ArrayList<>();
    private int started;

    ChaosHarness(Path dir) throws IOException {
        this(dir, true);
    }

    /** @param cpuInProcess false to leave the CPU queue to worker processes too */
    ChaosHarness(Path dir, boolean cpuInProcess) throws IOException {
        this.dir = dir.toAbsolutePath();
        Files.createDirectories(this.dir);
        this.temporal = EmbeddedTemporal.start(0);
        this.cpuWorker = cpuInProcess ? TractWorker.on(temporal.client(), WorkerConfig.defaults(temporal.address())
                .withWorkDir(this.dir.resolve("worker-cpu")).withTaskQueues(List.of(WorkerConfig.CPU_QUEUE))) : null;
        if (cpuWorker != null) {
            cpuWorker.start();
        }
    }

    /** The spec of a small pipeline whose stages last long enough to be interrupted, into {@code runs}. */
    PipelineSpec spec(String runs) throws IOException {
        return spec(runs, "");
    }

    /** The same, with extra top-level YAML (e.g. a tracking section). */
    PipelineSpec spec(String runs, String extra) throws IOException {
        Path train = dir.resolve("train.jsonl");
        Path test = dir.resolve("test.jsonl");
        CanonicalJson.write(train, SyntheticTask.generate(24, 1));
        CanonicalJson.write(test, SyntheticTask.generate(16, 2));
        return SpecParser.parse("""
                name: chaos
                seed_model: {preset: tiny, seed: 5}
                train_data: train.jsonl
                eval_sets: [{name: synthetic, data: test.jsonl}]
                method: tract
                stage1: {steps: 60, lr: 0.005, batch_size: 16, max_length: 300}
                stage2: {steps: 60, lr: 0.005, batch_size: 16, max_length: 300}
                generation: {max_new_tokens: 24}
                checkpoint: {every_steps: 4}
                shard_size: 8
                heartbeat_timeout_seconds: 10
                artifact_root: %s
                """.formatted(runs) + extra, dir, dir.resolve(runs).toUri().toString());
    }

    /** Starts a GPU-queue worker process (its own JVM and work folder, like another machine). */
    Process startWorker(Map<String, String> env) throws IOException {
        return startWorker(env, WorkerConfig.GPU_QUEUE);
    }

    /** Starts a worker process polling the given queues (comma-separated). */
    Process startWorker(Map<String, String> env, String queues) throws IOException {
        String name = "worker-" + (++started);
        ProcessBuilder pb = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), TractCli.class.getName(), "worker", "--temporal",
                temporal.address(), "--task-queues", queues, "--work-dir",
                dir.resolve(name).toString(), "--shutdown-grace", "60", "--device", "cpu", "--allow-fault-injection")
                .redirectErrorStream(true).redirectOutput(dir.resolve(name + ".log").toFile());
        pb.environment().put("TRACT_LOG_LEVEL", "INFO");
        pb.environment().putAll(env);
        Process p = pb.start();
        workers.add(p);
        return p;
    }

    /** The uninterrupted reference: the same spec on a worker in this process. */
    Values.PipelineResult baseline(PipelineSpec spec) {
        WorkerConfig config = WorkerConfig.defaults(temporal.address()).withWorkDir(dir.resolve("worker-baseline"))
                .withTaskQueues(List.of(WorkerConfig.GPU_QUEUE));
        try (TractWorker worker = TractWorker.on(temporal.client(), config)) {
            worker.start();
            String id = "baseline-" + System.nanoTime();
            Pipelines.start(temporal.client(), spec, id);
            return Pipelines.result(temporal.client(), id);
        }
    }

    String start(PipelineSpec spec, String id) {
        Pipelines.start(temporal.client(), spec, id);
        return id;
    }

    Values.Progress progress(String id) {
        return Pipelines.progress(temporal.client(), id);
    }

    /** Waits until the pipeline's progress satisfies a condition; false on timeout. */
    boolean await(String id, Predicate<Values.Progress> condition, Duration timeout) throws InterruptedException {
        long end = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < end) {
            try {
                if (condition.test(progress(id))) {
                    return true;
                }
            } catch (RuntimeException e) {
                // not started yet
            }
            Thread.sleep(100);
        }
        return false;
    }

    Values.PipelineResult result(String id) {
        return Pipelines.result(temporal.client(), id);
    }

    /** sha256 of the final judge's weights of a finished pipeline. */
    static String judgeDigest(Values.PipelineResult r) throws IOException {
        Values.StageSummary last = r.stages().stream().filter(s -> s.name().startsWith("stage")).reduce((a, b) -> b)
                .orElseThrow();
        String uri = last.outputUri();
        String root = uri.substring(0, uri.indexOf("/stages/"));
        try (ArtifactStore store = ArtifactStores.open(root)) {
            Path f = Files.createTempFile("judge", ".safetensors");
            try {
                store.getFile(store.keyOf(uri).orElseThrow() + "/model.safetensors", f);
                return Digests.sha256(f);
            } finally {
                Files.deleteIfExists(f);
            }
        }
    }

    /** Kills every worker process started so far. */
    void stopWorkers() throws InterruptedException {
        for (Process p : workers) {
            p.destroyForcibly();
            p.waitFor();
        }
        workers.clear();
    }

    /** SIGKILL: the process gets no chance to clean up. */
    static void kill(Process p) throws InterruptedException {
        p.destroyForcibly();
        p.waitFor();
    }

    /** SIGTERM; returns the seconds until the process exited. */
    static double terminate(Process p, Duration limit) throws InterruptedException {
        long start = System.nanoTime();
        p.destroy();
        if (!p.waitFor(limit.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS)) {
            p.destroyForcibly();
            throw new IllegalStateException("worker did not exit within " + limit.toSeconds() + " s of SIGTERM");
        }
        return (System.nanoTime() - start) / 1e9;
    }

    Path dir() {
        return dir;
    }

    @Override
    public void close() {
        for (Process p : workers) {
            p.destroyForcibly();
        }
        if (cpuWorker != null) {
            cpuWorker.close();
        }
        temporal.close();
    }

    /** The client of the embedded Temporal server (to read a pipeline's history). */
    io.temporal.client.WorkflowClient client() {
        return temporal.client();
    }
}
