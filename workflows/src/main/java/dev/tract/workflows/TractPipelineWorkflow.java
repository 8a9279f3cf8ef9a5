package dev.tract.workflows;

import io.temporal.workflow.QueryMethod;
import io.temporal.workflow.SignalMethod;
import io.temporal.workflow.WorkflowInterface;
import io.temporal.workflow.WorkflowMethod;

/**
 * The TRACT pipeline: prepare data, stage 1, CoT self-generation (fanned out in shards), stage 2 from the seed
 * weights, evaluation (one activity per eval set and shard), report. The method variant decides which stages run.
 */
@WorkflowInterface
public interface TractPipelineWorkflow {
    @WorkflowMethod
    Values.PipelineResult run(Values.PipelineInput input);

    /** Current stage, step / total, latest loss, shards done / total, elapsed and remaining time, resumes. */
    @QueryMethod
    Values.Progress progress();

    /**
     * Training progress as earlier releases sent it (a signal every few seconds, each adding history events); it now
     * travels in heartbeats. Kept so that pipelines started by those releases, and their histories, still replay.
     */
    @SignalMethod
    void progressUpdate(Values.ProgressUpdate update);
}
