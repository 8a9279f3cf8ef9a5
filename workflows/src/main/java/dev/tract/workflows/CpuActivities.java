package dev.tract.workflows;

import io.temporal.activity.ActivityInterface;

/** Activities that need no accelerator: on the CPU task queue. */
@ActivityInterface
public interface CpuActivities {
    /** Validates and normalises the data and materialises the seed model in the artifact store. */
    Values.PreparedData prepareData(Values.PipelineInput input);

    /** Opens (or finds again) the tracking runs of a pipeline and logs its params, tags and dataset inputs. */
    Values.TrackingRuns startTracking(Values.TrackingRequest request);

    /** Stores one part of a stage's shard manifest; returns the manifest reference ({@link Values#MANIFEST}). */
    String writeManifestPart(Values.ManifestPart part);

    /** Joins an evaluation set's prediction shards and computes its metrics. */
    Values.EvalOutcome aggregateEval(Values.EvalAggregateRequest request);

    /**
     * Writes the pipeline's report (JSON, HTML, plots), logs the evaluation metrics and the report to tracking,
     * registers the final judge when asked, ends the runs, and returns the result.
     */
    Values.PipelineResult report(Values.ReportRequest request);
}
