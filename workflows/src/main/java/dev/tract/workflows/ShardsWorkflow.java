package dev.tract.workflows;

import io.temporal.workflow.QueryMethod;
import io.temporal.workflow.WorkflowInterface;
import io.temporal.workflow.WorkflowMethod;

/**
 * One fanned-out stage of a pipeline (CoT self-generation, or the scoring of one evaluation set): its shards run as
 * activities, at most a window of them at once; the shard list goes to the artifact store as a manifest, never into
 * a payload; and the workflow continues as new before its history grows large, carrying only its tally.
 */
@WorkflowInterface
public interface ShardsWorkflow {
    @WorkflowMethod
    Values.ShardsOutcome run(Values.ShardsInput input);

    /** Shards done (over every run so far) and in all. */
    @QueryMethod
    int[] shards();
}
