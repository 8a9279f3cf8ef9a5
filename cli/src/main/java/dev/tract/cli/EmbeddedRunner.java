package dev.tract.cli;

import dev.tract.judge.JudgeInputException;
import dev.tract.worker.EmbeddedTemporal;
import dev.tract.worker.TractWorker;
import dev.tract.worker.WorkerConfig;
import dev.tract.workflows.Pipelines;
import dev.tract.workflows.TractPipelineWorkflowImpl;
import dev.tract.workflows.Values;
import dev.tract.workflows.spec.PipelineSpec;
import io.temporal.client.WorkflowFailedException;
import io.temporal.failure.ApplicationFailure;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Temporal's test server and a worker in this process, for pipelines run on this machine ({@code quickstart},
 * {@code run}). Ctrl-C (or SIGTERM) stops the worker the way a preempted one stops: the running stage checkpoints
 * first. Stage outputs and checkpoints live under the artifact root, so running the same spec again continues
 * from the finished stages and the newest checkpoint.
 */
final class EmbeddedRunner implements AutoCloseable {
    private final EmbeddedTemporal temporal;
    private final TractWorker worker;
    private final PrintWriter err;
    private final Thread hook;
    private final AtomicBoolean interrupted = new AtomicBoolean();

    /** Starts the server and a worker whose local files go under {@code workDir}. */
    EmbeddedRunner(Path workDir, PrintWriter err) throws Exception {
        this.err = err;
        WorkerConfig config = WorkerConfig.defaults("embedded").withWorkDir(workDir);
        config = new WorkerConfig(config.temporalAddress(), config.namespace(), config.taskQueues(), 1,
                config.workDir(), config.device(), 16, Duration.ofSeconds(60));
        temporal = EmbeddedTemporal.start(0);
        worker = TractWorker.on(temporal.client(), config);
        worker.start();
        hook = new Thread(() -> {
            interrupted.set(true);
            err.println();
            err.println("tract: stopping; the running stage checkpoints first...");
            err.flush();
            double seconds = worker.shutdown();
            err.printf("tract: stopped in %.1f s; run the same command again to continue from the finished stages "
                    + "and the newest checkpoint%n", seconds);
            err.flush();
        }, "tract-embedded-stop");
        Runtime.getRuntime().addShutdownHook(hook);
    }

    String address() {
        return temporal.address();
    }

    /**
     * Starts a pipeline and follows it to its end with the progress display. A pipeline that fails on bad input
     * throws {@link JudgeInputException} with the failure's own message (it names the file, record and field).
     */
    Values.PipelineResult run(PipelineSpec spec, boolean progress) throws InterruptedException {
        String id = Pipelines.newId(spec);
        Pipelines.start(temporal.client(), spec, id);
        try {
            if (progress) {
                return new PipelineWatcher(temporal.client(), err).follow(id);
            }
            return Pipelines.result(temporal.client(), id);
        } catch (WorkflowFailedException e) {
            ApplicationFailure cause = null;
            for (Throwable t = e; t != null; t = t.getCause()) {
                if (t instanceof ApplicationFailure a) {
                    cause = a;
                }
            }
            if (cause == null) {
                throw e;
            }
            String message = "pipeline " + id + " failed: " + cause.getOriginalMessage();
            if (TractPipelineWorkflowImpl.BAD_INPUT.equals(cause.getType())) {
                throw new JudgeInputException(spec.name(), null, message);
            }
            throw new IllegalStateException(message, e);
        }
    }

    @Override
    public void close() {
        if (!interrupted.get()) {
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException e) {
                // already shutting down: the hook stops the worker
            }
        }
        worker.close();
        temporal.close();
    }
}
