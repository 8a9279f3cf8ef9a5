package dev.tract.activities;

import dev.tract.activities.artifacts.ArtifactStore;
import dev.tract.activities.artifacts.ArtifactStores;
import dev.tract.workflows.spec.Destinations;
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
 * @param destinations where this worker reads data, writes artifacts and sends tracking calls, whatever a spec says
 */
public record ActivityEnvironment(WorkflowClient client, Path workDir, String device, AtomicBoolean shuttingDown,
                                  int generationBatch, Faults faults, Destinations destinations) {

    /** A worker that goes wherever a spec says (tests, and command-line runs of the user's own specs). */
    public ActivityEnvironment(WorkflowClient client, Path workDir, String device, AtomicBoolean shuttingDown,
                               int generationBatch, Faults faults) {
        this(client, workDir, device, shuttingDown, generationBatch, faults, Destinations.unrestricted());
    }

    /** The store at an artifact root, refused (not retried) when the root is outside this worker's destinations. */
    public ArtifactStore store(String root) {
        String problem = destinations.artifactProblem(root);
        if (problem != null) {
            throw Failures.refused("artifact_root " + problem);
        }
        return ArtifactStores.open(root);
    }

    /** Fault injection for tests and `tract chaos`: called after every training step and inside checkpoint uploads. */
    public interface Faults {
        void afterStep(String stage, int attempt, int step);

        /** Called when a training attempt starts, before it fetches its checkpoint, model and data. */
        default void beforeLoading(String stage, int attempt) {}

        /** Called once the first file of a checkpoint is stored and before LATEST points at it. */
        default void duringCheckpointUpload(String stage, int attempt, int step) {}

        /** Called when a CoT-generation ("cots") or evaluation ("eval") shard starts its work. */
        default void duringShard(String kind, int shard, int attempt) {}

        Faults NONE = (stage, attempt, step) -> { };
    }

    public static ActivityEnvironment of(WorkflowClient client, Path workDir) {
        return new ActivityEnvironment(client, workDir, System.getenv().getOrDefault("TRACT_DEVICE", "auto"),
                new AtomicBoolean(), 8, Faults.NONE);
    }

    public ActivityEnvironment withFaults(Faults f) {
        return new ActivityEnvironment(client, workDir, device, shuttingDown, generationBatch, f, destinations);
    }

    public ActivityEnvironment withDestinations(Destinations d) {
        return new ActivityEnvironment(client, workDir, device, shuttingDown, generationBatch, faults, d);
    }
}
