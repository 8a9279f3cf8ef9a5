package dev.tract.workflows;

import io.temporal.activity.ActivityInterface;

/** Activities that need no accelerator: on the CPU task queue. */
@ActivityInterface
public interface CpuActivities {
    /** Validates and normalises the data and materialises the seed model in the artifact store. */
    Values.PreparedData prepareData(Values.PipelineInput input);

    /** Joins an evaluation set's prediction shards and computes its metrics. */
    Values.EvalOutcome aggregateEval(Values.EvalAggregateRequest request);

    /** Writes the pipeline's report (JSON and HTML) and returns the result. */
    Values.PipelineResult report(Values.ReportRequest request);
}
