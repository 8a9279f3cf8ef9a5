package dev.tract.activities;

import io.temporal.client.WorkflowClient;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * What the activities of one worker process share.
 *
 * @param client the Temporal client of the worker (may be null; no activity needs it now that progress travels in
 *     heartbeats)
 * @param workDir local folder for models, data and checkpoints being worked on
 * @param device device name for the model (auto, cpu, gpu:N)
 * @param shuttingDown set when the worker received SIGTERM: running activities checkpoint and give up their task
 * @param generationBatch prompts per generation batch
 * @param faults test hook, called after every training step
 */
public record ActivityEnvironment(WorkflowClient client, Path workDir, String device, AtomicBoolean shuttingDown,
                                  int generationBatch, Faults faults) {

    /** Fault injection for tests and `tract chaos`: called after every training step and inside checkpoint uploads. */
    public interface Faults {
        void afterStep(String stage, int attempt, int step);

        /** Called when a training attempt starts, before it fetches its checkpoint, model and data. */
        default void beforeLoading(String stage, int attempt) {}

        /** Called once the first file of a checkpoint is stored and before LATEST points at it. */
        default void duringCheckpointUpload(String stage, int attempt, int step) {}

        Faults NONE = (stage, attempt, step) -> { };
    }

    public static ActivityEnvironment of(WorkflowClient client, Path workDir) {
        return new ActivityEnvironment(client, workDir, System.getenv().getOrDefault("TRACT_DEVICE", "auto"),
                new AtomicBoolean(), 8, Faults.NONE);
    }

    public ActivityEnvironment withFaults(Faults f) {
        return new ActivityEnvironment(client, workDir, device, shuttingDown, generationBatch, f);
    }
}
