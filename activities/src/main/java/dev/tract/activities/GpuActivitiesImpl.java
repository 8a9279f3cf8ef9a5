package dev.tract.activities;

import dev.tract.workflows.GpuActivities;
import dev.tract.workflows.Values;
import dev.tract.workflows.spec.PipelineSpec;
import io.temporal.failure.ApplicationFailure;
import java.time.Duration;

/**
 * The activities of the GPU queue: training ({@link TrainActivity}, with its checkpoints in a
 * {@link TrainingWorkspace}) and the shards of CoT generation and evaluation ({@link ShardActivities}). Every output
 * is stored under {@code stages/<kind>/<cache key>/} with a {@code _SUCCESS} marker written last: an activity whose
 * marker exists returns the stored result (cached). Models are read through {@link VerifiedModels}.
 */
public class GpuActivitiesImpl implements GpuActivities {
    /** Failure type of an attempt that gave up its task because the worker is shutting down. */
    public static final String WORKER_SHUTDOWN = "WorkerShutdown";
    /** The marker of a finished stage output, written last. */
    static final String SUCCESS = "_SUCCESS";
    static final Duration HEARTBEAT_INTERVAL = Duration.ofSeconds(PipelineSpec.HEARTBEAT_INTERVAL_SECONDS);

    private final TrainActivity training;
    private final ShardActivities shards;

    public GpuActivitiesImpl(ActivityEnvironment env) {
        Materializer materializer = new Materializer(env.workDir(), env.destinations());
        VerifiedModels models = new VerifiedModels(materializer, env.workDir().resolve("digests"));
        this.training = new TrainActivity(env, materializer, models);
        this.shards = new ShardActivities(env, materializer, models);
    }

    @Override
    public Values.TrainOutcome train(Values.TrainRequest req) {
        return Failures.run(() -> training.run(req));
    }

    @Override
    public Values.ShardOutcome generateCots(Values.CotShardRequest req) {
        return Failures.run(() -> shards.generateCots(req));
    }

    @Override
    public Values.ShardOutcome evaluateShard(Values.EvalShardRequest req) {
        return Failures.run(() -> shards.evaluateShard(req));
    }

    /** A worker that is shutting down takes no new work: the task goes back at once to another worker. */
    static void refuseIfShuttingDown(ActivityEnvironment env) {
        if (env.shuttingDown().get()) {
            throw ApplicationFailure.newFailure("worker shutting down: task left to another worker", WORKER_SHUTDOWN);
        }
    }
}
