package dev.tract.workflows;

import dev.tract.workflows.spec.PipelineSpec;
import java.util.List;
import java.util.Map;

/**
 * The small values that cross Temporal: URIs, digests, counts, metrics. Large data stays in the artifact store.
 */
public final class Values {
    private Values() {}

    /** Workflow input. */
    /**
     * @param submitter the name of the API token that submitted the pipeline (also in the memo "submitter"); null
     *     for pipelines started from the command line, and in histories from before it was recorded
     */
    public record PipelineInput(String pipelineId, PipelineSpec spec, String specDigest, String submitter) {
        public PipelineInput(String pipelineId, PipelineSpec spec, String specDigest) {
            this(pipelineId, spec, specDigest, null);
        }
    }

    /** Normalised training and evaluation data and the seed model, as stored. */
    public record PreparedData(String trainUri, String trainDigest, int trainCount, List<PreparedEvalSet> evalSets,
                               String seedModelUri, String seedModelDigest, double seconds) {}

    public record PreparedEvalSet(String name, String uri, String digest, int count) {}

    /** One training stage. {@code cacheKey} names its output folder; the same key is the same result. */
    public record TrainRequest(String pipelineId, String stage, String cacheKey, String modelUri, String modelDigest,
                               List<String> dataUris, String dataDigest, String objective, PipelineSpec.Stage hyper,
                               String template, long seed, PipelineSpec.Checkpointing checkpoint,
                               String artifactRoot, PipelineSpec.Tracking tracking, String runId) {}

    /**
     * @param resumes how many times this stage resumed from a checkpoint (across attempts)
     * @param lostSteps steps trained twice because a worker died after them but before their checkpoint
     */
    public record TrainOutcome(String stage, String cacheKey, String modelUri, String modelDigest, int steps,
                               int totalSteps, double finalLoss, double computeSeconds, double tokensPerSecond,
                               int attempts, int resumes, int lostSteps, double lostSeconds,
                               double resumeWaitSeconds, boolean cached, String metricsUri, int trackingFailures) {}

    /**
     * CoT self-generation for training examples [from, to).
     *
     * @param dataDigest the content digest of the data, checked by the shard (null in requests of earlier releases)
     */
    public record CotShardRequest(String pipelineId, String cacheKey, int shard, int from, int to, String modelUri,
                                  String modelDigest, String dataUri, PipelineSpec.Generation generation,
                                  int maxLength, String template, long seed, String artifactRoot,
                                  String dataDigest) {}

    /** Scoring of evaluation examples [from, to). */
    public record EvalShardRequest(String pipelineId, String cacheKey, String evalSet, int shard, int from, int to,
                                   String modelUri, String modelDigest, String dataUri, String mode, int nCot,
                                   PipelineSpec.Generation generation, int maxLength, String template, long seed,
                                   String artifactRoot, String dataDigest) {}

    /**
     * @param quality what the shard's generated feedbacks were like (null when it generated none)
     */
    public record ShardOutcome(String uri, int shard, int count, double computeSeconds, boolean cached,
                               CotQuality quality) {}

    /**
     * The quality of generated feedbacks (CoTs), counted.
     *
     * @param feedbacks feedbacks generated
     * @param wellFormed those that ended cleanly (end of sequence, a stop string, or "So the overall") rather than
     *     at the token limit
     * @param checked those whose truth is known (examples of a built-in task)
     * @param correct of the checked ones, those whose every item check and count are right
     * @param promptsCut prompts shortened to leave room for generation
     */
    public record CotQuality(int feedbacks, int wellFormed, int checked, int correct, int promptsCut) {
        public static final CotQuality NONE = new CotQuality(0, 0, 0, 0, 0);

        public CotQuality plus(CotQuality o) {
            return o == null ? this : new CotQuality(feedbacks + o.feedbacks, wellFormed + o.wellFormed,
                    checked + o.checked, correct + o.correct, promptsCut + o.promptsCut);
        }

        /** The share of well-formed feedbacks, or null when none were generated. */
        public Double wellFormedShare() {
            return feedbacks == 0 ? null : wellFormed / (double) feedbacks;
        }

        /** The share of correct feedbacks among the checked ones, or null when none could be checked. */
        public Double correctShare() {
            return checked == 0 ? null : correct / (double) checked;
        }
    }

    /** A data reference that stands for the shard files listed in a manifest folder ({@link ManifestPart}). */
    public static final String MANIFEST = "manifest:";

    /**
     * A fanned-out stage, for {@link ShardsWorkflow}: exactly one of {@code cots} and {@code eval} is set, as the
     * template of its shard requests (key, shard and range are filled in per shard).
     *
     * @param dataDigest the digest of the data the shards read (part of each shard's cache key)
     * @param window shards in flight at most
     * @param next the first shard this run schedules
     * @param manifestKey the folder of the stage's manifest in the artifact store
     * @param manifestUri the manifest reference ({@link #MANIFEST} and the folder's URI), once a part is written
     */
    public record ShardsInput(String pipelineId, String artifactRoot, String gpuQueue, String cpuQueue,
                              int heartbeatTimeoutSeconds, CotShardRequest cots, EvalShardRequest eval,
                              String dataDigest, int count, int shardSize, int window, int next, ShardsTally tally,
                              String manifestKey, String manifestUri) {
        /** The input of the next run. */
        public ShardsInput next(int from, ShardsTally t, String manifest) {
            return new ShardsInput(pipelineId, artifactRoot, gpuQueue, cpuQueue, heartbeatTimeoutSeconds, cots, eval,
                    dataDigest, count, shardSize, window, from, t, manifestKey, manifest);
        }
    }

    /**
     * What a fanned-out stage did so far, carried from run to run.
     *
     * @param runs runs finished (each but the last continued as new)
     * @param largestHistoryEvents the largest history of any run
     */
    public record ShardsTally(int shardsDone, int records, double computeSeconds, boolean allCached,
                              CotQuality quality, int runs, long largestHistoryEvents) {
        public static final ShardsTally NONE = new ShardsTally(0, 0, 0, true, CotQuality.NONE, 0, 0);

        public ShardsTally plus(ShardOutcome o) {
            return new ShardsTally(shardsDone + 1, records + o.count(), computeSeconds + o.computeSeconds(),
                    allCached && o.cached(), quality.plus(o.quality()), runs, largestHistoryEvents);
        }

        public ShardsTally endRun(long historyEvents) {
            return new ShardsTally(shardsDone, records, computeSeconds, allCached, quality, runs + 1,
                    Math.max(largestHistoryEvents, historyEvents));
        }
    }

    public record ShardsOutcome(String manifestUri, ShardsTally tally) {}

    /** One part of a manifest: the shard files a run of a fanned-out stage wrote, stored under {@code key}. */
    public record ManifestPart(String artifactRoot, String key, int part, List<String> uris) {}

    /**
     * The size of a pipeline's workflow histories, for the status and the report.
     *
     * @param events events in the pipeline workflow's history
     * @param largestEvents the largest history of the pipeline workflow and of any run of its stage workflows
     * @param runsContinued runs of stage workflows that continued as new
     */
    public record HistoryFigures(long events, long largestEvents, int runsContinued) {}

    /** Joins the prediction shards of one evaluation set and computes its metrics. */
    public record EvalAggregateRequest(String pipelineId, String evalSet, List<String> shardUris, long seed,
                                       String artifactRoot) {}

    /**
     * Metrics of one evaluation set; ci maps a metric to [low, high].
     *
     * @param quality the judge's own feedbacks on the set (no feedbacks when it scored without any) and the prompts
     *     cut; null in outcomes written before it was counted
     */
    public record EvalOutcome(String evalSet, String predictionsUri, String metricsUri, int n, int nDropped,
                              Double pearson, Double spearman, Double kendall, Double rmse,
                              Map<String, List<Double>> ci, double computeSeconds, CotQuality quality) {}

    /**
     * What a stage did, for progress and the report.
     *
     * @param quality for CoT generation, what the generated feedbacks were like; null for other stages
     */
    public record StageSummary(String name, String kind, double wallSeconds, double computeSeconds, boolean cached,
                               int attempts, int resumes, int lostSteps, double lostSeconds, double resumeWaitSeconds,
                               String outputUri, Double finalLoss, Integer steps, String metricsUri,
                               int trackingFailures, CotQuality quality) {}

    /** Asks for the tracking runs of a pipeline: a parent run and a child per stage and per eval set. */
    public record TrackingRequest(String pipelineId, PipelineSpec spec, String specDigest, PreparedData data,
                                  List<String> stages, String submitter) {}

    /**
     * The runs of a pipeline; runIds maps a stage name or "eval/<set>" to its run. Ids are null when the tracker
     * was unreachable (tracking never fails a pipeline).
     */
    public record TrackingRuns(String kind, String parentRunId, Map<String, String> runIds, Map<String, String> urls,
                               int failures) {}

    /**
     * @param failure what failed, for a FAILED pipeline (else null)
     * @param history the size of the pipeline's workflow histories (null in requests of earlier releases)
     */
    public record ReportRequest(String pipelineId, PipelineSpec spec, String specDigest, PreparedData data,
                                List<StageSummary> stages, List<EvalOutcome> evals, String state,
                                double wallSeconds, TrackingRuns tracking, String judgeUri, String failure,
                                HistoryFigures history) {}

    /**
     * The workflow's result: where the report is, what each stage did, the metrics of each evaluation set.
     *
     * @param trackingFailures tracking calls that failed for good (the metrics they carried are missing in MLflow)
     */
    public record PipelineResult(String pipelineId, String state, String reportUri, List<StageSummary> stages,
                                 List<EvalOutcome> evals, double wallSeconds, double computeSeconds,
                                 Map<String, String> trackingUrls, int trackingFailures, String registeredVersion) {}

    /** Sent by the training activities of earlier releases (see {@link TractPipelineWorkflow#progressUpdate}). */
    public record ProgressUpdate(String stage, int step, int totalSteps, double loss, int attempt,
                                 int resumedFromStep) {}

    /**
     * Heartbeat details of a training activity: its newest durable checkpoint (a retry resumes from it) and its
     * progress, which the status reads from the server without adding to the workflow's history.
     *
     * @param step the step of the newest durable checkpoint
     * @param trainedStep the newest step trained
     * @param meanStepSeconds mean time per step in this attempt
     */
    public record TrainHeartbeat(int step, String checkpointUri, int trainedStep, long timestampMillis, String stage,
                                 int totalSteps, Double loss, double meanStepSeconds, int attempt) {}

    /**
     * A pipeline's progress: the workflow's query answers the first fields; the step, loss and remaining time of a
     * training stage come from its activity's heartbeat, and waiting and the history size from the server
     * ({@link LiveStatus}).
     *
     * @param waiting "waiting for a worker on queue Q since T" when a task has waited longer than the notice, or null
     * @param historyEvents events in the workflow's history (0 when read from the query alone)
     * @param largestHistoryEvents the largest history so far of the pipeline workflow and its stage workflows' runs
     * @param runsContinued stage workflow runs that continued as new
     */
    public record Progress(String state, String stage, int step, int totalSteps, Double loss, int shardsDone,
                           int shardsTotal, double elapsedSeconds, Double remainingSeconds, int resumes,
                           List<StageSummary> stagesDone, String gpuQueue, String cpuQueue, String waiting,
                           long historyEvents, long historyBytes, long largestHistoryEvents, int runsContinued) {}
}
