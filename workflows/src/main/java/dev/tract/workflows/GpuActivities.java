package dev.tract.workflows;

import io.temporal.activity.ActivityInterface;

/** Activities that run the model: on the GPU task queue. All heartbeat and stop cleanly on cancellation. */
@ActivityInterface
public interface GpuActivities {
    /** Trains one stage, checkpointing as it goes and resuming from the newest checkpoint on a retry. */
    Values.TrainOutcome train(Values.TrainRequest request);

    /** Generates one CoT per training example of a shard; idempotent (a retried shard rewrites the same file). */
    Values.ShardOutcome generateCots(Values.CotShardRequest request);

    /** Scores one shard of an evaluation set; idempotent. */
    Values.ShardOutcome evaluateShard(Values.EvalShardRequest request);
}
