package dev.tract.workflows;

import dev.tract.workflows.Values.CotShardRequest;
import dev.tract.workflows.Values.EvalAggregateRequest;
import dev.tract.workflows.Values.EvalOutcome;
import dev.tract.workflows.Values.EvalShardRequest;
import dev.tract.workflows.Values.PipelineInput;
import dev.tract.workflows.Values.PipelineResult;
import dev.tract.workflows.Values.PreparedData;
import dev.tract.workflows.Values.PreparedEvalSet;
import dev.tract.workflows.Values.Progress;
import dev.tract.workflows.Values.ProgressUpdate;
import dev.tract.workflows.Values.ShardOutcome;
import dev.tract.workflows.Values.StageSummary;
import dev.tract.workflows.Values.TrainOutcome;
import dev.tract.workflows.Values.TrainRequest;
import dev.tract.workflows.spec.Method;
import dev.tract.workflows.spec.PipelineSpec;
import io.temporal.activity.ActivityCancellationType;
import io.temporal.activity.ActivityOptions;
import io.temporal.common.RetryOptions;
import io.temporal.failure.ActivityFailure;
import io.temporal.failure.ApplicationFailure;
import io.temporal.failure.CanceledFailure;
import io.temporal.failure.ChildWorkflowFailure;
import io.temporal.workflow.Async;
import io.temporal.workflow.ChildWorkflowOptions;
import io.temporal.workflow.Promise;
import io.temporal.workflow.Workflow;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * Deterministic orchestration of a pipeline. No I/O, no clock or randomness but Workflow's; every decision is a
 * function of the input and of activity results.
 */
public class TractPipelineWorkflowImpl implements TractPipelineWorkflow {
    /** Failure type of bad specs and bad data: never retried. */
    public static final String BAD_INPUT = "BadInput";

    private final List<StageSummary> stages = new ArrayList<>();
    private Values.TrackingRuns tracking;
    private String judgeUri;
    private final List<EvalOutcome> evals = new ArrayList<>();
    private String state = "RUNNING";
    private String stage = "starting";
    private int step;
    private int totalSteps;
    private Double loss;
    private int shardsDone;
    private int shardsTotal;
    private int resumes;
    private long startMillis;
    private long stageStartMillis;
    private int stageStartStep;
    private String gpuQueue;
    private String cpuQueue;
    private long largestChildHistory;
    private int runsContinued;
    private String failure;

    /** Version of the orchestration: 1 writes the report of a failed pipeline too. */
    static final String REPORT_ON_FAILURE = "report-on-failure";

    @Override
    public PipelineResult run(PipelineInput input) {
        startMillis = Workflow.currentTimeMillis();
        PipelineSpec spec = input.spec();
        gpuQueue = spec.taskQueues().gpu();
        cpuQueue = spec.taskQueues().cpu();
        Method method = spec.methodEnum();
        CpuActivities cpu = Workflow.newActivityStub(CpuActivities.class, cpuOptions(spec));
        GpuActivities gpu = Workflow.newActivityStub(GpuActivities.class, gpuOptions(spec));
        // training retries without a cap: the activity counts its failures (hand-offs from preempted workers
        // excluded) and gives up after its budget
        GpuActivities trainer = Workflow.newActivityStub(GpuActivities.class, ActivityOptions.newBuilder(
                gpuOptions(spec)).setRetryOptions(RetryOptions.newBuilder(gpuOptions(spec).getRetryOptions())
                .setMaximumAttempts(0).build()).build());
        PreparedData data = null;
        try {
            beginStage("prepare");
            data = call(() -> cpu.prepareData(input));
            stages.add(new StageSummary("prepare", "data", seconds(stageStartMillis), data.seconds(), false, 1, 0, 0,
                    0, 0, data.trainUri(), null, null, null, 0, null));
            List<String> runStages = new ArrayList<>(method.trains() ? List.of("stage1") : List.of());
            if (method.twoStages()) {
                runStages.addAll(List.of("cots", "stage2"));
            }
            data.evalSets().forEach(e -> runStages.add("eval/" + e.name()));
            PreparedData prepared = data;
            tracking = call(() -> cpu.startTracking(new Values.TrackingRequest(input.pipelineId(), spec,
                    input.specDigest(), prepared, runStages, input.submitter())));

            if (!method.trains()) {
                // method judge: the seed model is the judge
                evaluate(gpu, cpu, input, data, data.seedModelUri(), data.seedModelDigest(), method);
                judgeUri = data.seedModelUri();
                state = "COMPLETED";
                beginStage("report");
                return report(cpu, input, data);
            }
            TrainOutcome s1 = train(trainer, input, "stage1", data.seedModelUri(), data.seedModelDigest(),
                    List.of(data.trainUri()), data.trainDigest(), method.stage1Objective(), spec.stage1());
            judgeUri = s1.modelUri();
            String judgeDigest = s1.modelDigest();
            if (method.twoStages()) {
                List<String> cotUris = cots(gpu, input, data, s1);
                String cotDigest = CacheKeys.of("cots", s1.modelDigest(), data.trainDigest(), spec.generation(),
                        spec.seed(), spec.template());
                TrainOutcome s2 = train(trainer, input, "stage2", data.seedModelUri(), data.seedModelDigest(), cotUris,
                        cotDigest, method.stage2Objective(), spec.stage2());
                judgeUri = s2.modelUri();
                judgeDigest = s2.modelDigest();
            }
            evaluate(gpu, cpu, input, data, judgeUri, judgeDigest, method);
            state = "COMPLETED";
            beginStage("report");
            return report(cpu, input, data);
        } catch (ActivityFailure | ChildWorkflowFailure | CanceledFailure | ApplicationFailure e) {
            boolean cancelled = e instanceof CanceledFailure || e.getCause() instanceof CanceledFailure;
            state = cancelled ? "CANCELLED" : "FAILED";
            failure = cancelled ? null : message(e);
            reportAfterAll(cpu, input, data);
            throw e;
        }
    }

    /** A failed or cancelled pipeline still gets its report, and its tracking runs are closed (FAILED, KILLED). */
    private void reportAfterAll(CpuActivities cpu, PipelineInput input, PreparedData data) {
        if (data == null && "FAILED".equals(state)) {
            return; // the spec or the data was refused: nothing ran, no tracking run was opened
        }
        if (Workflow.getVersion(REPORT_ON_FAILURE, Workflow.DEFAULT_VERSION, 1) == Workflow.DEFAULT_VERSION
                && "FAILED".equals(state)) {
            return;
        }
        Workflow.newDetachedCancellationScope(() -> {
            try {
                report(cpu, input, data);
            } catch (ActivityFailure f) {
                Workflow.getLogger(TractPipelineWorkflowImpl.class).warn("report after " + state + " failed", f);
            }
        }).run();
    }

    /** The innermost message of a failure: what went wrong, not the layers it went through. */
    private static String message(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null) {
            t = t.getCause();
        }
        return t instanceof ApplicationFailure a ? a.getOriginalMessage() : t.getMessage();
    }

    private interface Call<T> {
        T get();
    }

    /** Runs an activity; bad input surfaces as the workflow's own non-retryable failure, with its message. */
    private <T> T call(Call<T> c) {
        try {
            return c.get();
        } catch (ActivityFailure | ChildWorkflowFailure f) {
            for (Throwable t = f.getCause(); t != null; t = t.getCause()) {
                if (t instanceof ApplicationFailure a && BAD_INPUT.equals(a.getType())) {
                    state = "FAILED";
                    throw ApplicationFailure.newNonRetryableFailure(a.getOriginalMessage(), BAD_INPUT);
                }
            }
            throw f;
        }
    }

    private TrainOutcome train(GpuActivities gpu, PipelineInput input, String name, String modelUri,
                               String modelDigest, List<String> dataUris, String dataDigest, String objective,
                               PipelineSpec.Stage hyper) {
        PipelineSpec spec = input.spec();
        beginStage(name);
        String key = trainKey(modelDigest, dataDigest, objective, hyper, spec.template(), spec.seed());
        TrainRequest req = new TrainRequest(input.pipelineId(), name, key, modelUri, modelDigest, dataUris,
                dataDigest, objective, hyper, spec.template(), spec.seed(), spec.checkpoint(), spec.artifactRoot(),
                spec.tracking(), tracking == null ? null : tracking.runIds().get(name));
        TrainOutcome out = call(() -> gpu.train(req));
        stages.add(new StageSummary(name, "train " + objective, seconds(stageStartMillis), out.computeSeconds(),
                out.cached(), out.attempts(), out.resumes(), out.lostSteps(), out.lostSeconds(),
                out.resumeWaitSeconds(), out.modelUri(), out.finalLoss(), out.steps(), out.metricsUri(),
                out.trackingFailures(), null));
        resumes += out.resumes();
        return out;
    }

    /** The cache key of a training stage: everything that determines the trained model. */
    public static String trainKey(String modelDigest, String dataDigest, String objective, PipelineSpec.Stage hyper,
                                  String template, long seed) {
        return CacheKeys.of("train", modelDigest, dataDigest, objective, hyper, template, seed);
    }

    /** Shards in flight at most per fanned-out stage. */
    static final int SHARD_WINDOW = 100;

    /** Version of the orchestration: 1 runs each fanned-out stage as a child workflow with a shard manifest. */
    static final String SHARD_CHILDREN = "shard-children";

    private boolean shardChildren() {
        return Workflow.getVersion(SHARD_CHILDREN, Workflow.DEFAULT_VERSION, 1) >= 1;
    }

    /** CoT self-generation: the shard files (or, from version 1, their manifest) and the stage's summary. */
    private List<String> cots(GpuActivities gpu, PipelineInput input, PreparedData data, TrainOutcome stage1) {
        if (!shardChildren()) {
            return generateCots(gpu, input, data, stage1).stream().map(ShardOutcome::uri).toList();
        }
        PipelineSpec spec = input.spec();
        beginStage("cots");
        shardsTotal = (data.trainCount() + spec.shardSize() - 1) / spec.shardSize();
        shardsDone = 0;
        Values.CotShardRequest template = new Values.CotShardRequest(input.pipelineId(), null, 0, 0, 0,
                stage1.modelUri(), stage1.modelDigest(), data.trainUri(), spec.generation(), spec.stage2().maxLength(),
                spec.template(), spec.seed(), spec.artifactRoot(), data.trainDigest());
        Values.ShardsOutcome o = call(() -> childStage(input, "cots", template, null, data.trainDigest(),
                data.trainCount()).get());
        Values.ShardsTally t = o.tally();
        shardsDone = t.shardsDone();
        stages.add(new StageSummary("cots", "generate CoTs", seconds(stageStartMillis), t.computeSeconds(),
                t.allCached(), 1, 0, 0, 0, 0, o.manifestUri(), null, t.records(), null, 0, t.quality()));
        return o.manifestUri() == null ? List.of() : List.of(o.manifestUri());
    }

    /** Starts a fanned-out stage as a child workflow on the CPU queue. */
    private Promise<Values.ShardsOutcome> childStage(PipelineInput input, String name,
                                                     Values.CotShardRequest cots, Values.EvalShardRequest eval,
                                                     String dataDigest, int count) {
        PipelineSpec spec = input.spec();
        String id = input.pipelineId() + "." + name;
        ShardsWorkflow child = Workflow.newChildWorkflowStub(ShardsWorkflow.class, ChildWorkflowOptions.newBuilder()
                .setWorkflowId(id).setTaskQueue(spec.taskQueues().cpu()).build());
        Promise<Values.ShardsOutcome> out = Async.function(child::run, new Values.ShardsInput(input.pipelineId(),
                spec.artifactRoot(), spec.taskQueues().gpu(), spec.taskQueues().cpu(), spec.heartbeatTimeoutSeconds(),
                cots, eval, dataDigest, count, spec.shardSize(), SHARD_WINDOW, 0, Values.ShardsTally.NONE, null,
                null));
        return out.thenApply(o -> {
            largestChildHistory = Math.max(largestChildHistory, o.tally().largestHistoryEvents());
            runsContinued += Math.max(0, o.tally().runs() - 1);
            return o;
        });
    }

    private List<ShardOutcome> generateCots(GpuActivities gpu, PipelineInput input, PreparedData data,
                                            TrainOutcome stage1) {
        PipelineSpec spec = input.spec();
        beginStage("cots");
        int shardSize = spec.shardSize();
        int shards = (data.trainCount() + shardSize - 1) / shardSize;
        shardsTotal = shards;
        shardsDone = 0;
        List<Promise<ShardOutcome>> pending = new ArrayList<>();
        for (int i = 0; i < shards; i++) {
            int from = i * shardSize;
            int to = Math.min(data.trainCount(), from + shardSize);
            String key = CacheKeys.of("cots", stage1.modelDigest(), data.trainDigest(), spec.generation(),
                    spec.stage2().maxLength(), spec.template(), spec.seed(), from, to);
            CotShardRequest req = new CotShardRequest(input.pipelineId(), key, i, from, to, stage1.modelUri(),
                    stage1.modelDigest(), data.trainUri(), spec.generation(), spec.stage2().maxLength(),
                    spec.template(), spec.seed(), spec.artifactRoot(), data.trainDigest());
            pending.add(Async.function(gpu::generateCots, req).thenApply(o -> {
                shardsDone++;
                return o;
            }));
        }
        List<ShardOutcome> out = collect(pending);
        Values.CotQuality quality = Values.CotQuality.NONE;
        for (ShardOutcome o : out) {
            quality = quality.plus(o.quality());
        }
        stages.add(new StageSummary("cots", "generate CoTs", seconds(stageStartMillis),
                out.stream().mapToDouble(ShardOutcome::computeSeconds).sum(), out.stream().allMatch(
                        ShardOutcome::cached), 1, 0, 0, 0, 0, out.isEmpty() ? null : out.get(0).uri(), null,
                out.stream().mapToInt(ShardOutcome::count).sum(), null, 0, quality));
        return out;
    }

    private <T> List<T> collect(List<Promise<T>> pending) {
        try {
            Promise.allOf(pending).get();
        } catch (ActivityFailure f) {
            call(() -> {
                throw f;
            });
        }
        List<T> out = new ArrayList<>();
        for (Promise<T> p : pending) {
            out.add(p.get());
        }
        return out;
    }

    private void evaluate(GpuActivities gpu, CpuActivities cpu, PipelineInput input, PreparedData data,
                          String modelUri, String modelDigest, Method method) {
        PipelineSpec spec = input.spec();
        beginStage("eval");
        String mode = spec.scoring().equals("decode") ? "decode" : method.cot() ? "cot-rail" : "rail";
        int nCot = method.cot() ? spec.nCot() : 0;
        int shardSize = spec.shardSize();
        if (shardChildren()) {
            shardsTotal = data.evalSets().stream().mapToInt(e -> (e.count() + shardSize - 1) / shardSize).sum();
            shardsDone = 0;
            List<Promise<Values.ShardsOutcome>> children = new ArrayList<>();
            for (PreparedEvalSet set : data.evalSets()) {
                children.add(childStage(input, "eval." + set.name(), null, new EvalShardRequest(input.pipelineId(),
                        null, set.name(), 0, 0, 0, modelUri, modelDigest, set.uri(), mode, nCot, spec.generation(),
                        spec.stage1().maxLength(), spec.template(), spec.seed(), spec.artifactRoot(), set.digest()),
                        set.digest(), set.count()));
            }
            double compute = 0;
            boolean allCached = true;
            for (int s = 0; s < children.size(); s++) {
                Promise<Values.ShardsOutcome> child = children.get(s);
                Values.ShardsOutcome o = call(child::get);
                shardsDone += o.tally().shardsDone();
                compute += o.tally().computeSeconds();
                allCached &= o.tally().allCached();
                String name = data.evalSets().get(s).name();
                List<String> shards = o.manifestUri() == null ? List.of() : List.of(o.manifestUri());
                evals.add(call(() -> cpu.aggregateEval(new EvalAggregateRequest(input.pipelineId(), name, shards,
                        spec.seed(), spec.artifactRoot()))));
            }
            stages.add(new StageSummary("eval", "evaluate " + mode, seconds(stageStartMillis), compute, allCached, 1,
                    0, 0, 0, 0, evals.isEmpty() ? null : evals.get(0).predictionsUri(), null, null, null, 0, null));
            return;
        }
        shardsTotal = data.evalSets().stream().mapToInt(e -> (e.count() + shardSize - 1) / shardSize).sum();
        shardsDone = 0;
        List<List<Promise<ShardOutcome>>> perSet = new ArrayList<>();
        for (PreparedEvalSet set : data.evalSets()) {
            List<Promise<ShardOutcome>> pending = new ArrayList<>();
            for (int from = 0, i = 0; from < set.count(); from += shardSize, i++) {
                int to = Math.min(set.count(), from + shardSize);
                String key = CacheKeys.of("eval", modelDigest, set.digest(), mode, nCot, spec.generation(),
                        spec.stage1().maxLength(), spec.template(), spec.seed(), from, to);
                EvalShardRequest req = new EvalShardRequest(input.pipelineId(), key, set.name(), i, from, to,
                        modelUri, modelDigest, set.uri(), mode, nCot, spec.generation(), spec.stage1().maxLength(),
                        spec.template(), spec.seed(), spec.artifactRoot(), set.digest());
                pending.add(Async.function(gpu::evaluateShard, req).thenApply(o -> {
                    shardsDone++;
                    return o;
                }));
            }
            perSet.add(pending);
        }
        double compute = 0;
        boolean allCached = true;
        for (int s = 0; s < perSet.size(); s++) {
            List<ShardOutcome> shards = collect(perSet.get(s));
            compute += shards.stream().mapToDouble(ShardOutcome::computeSeconds).sum();
            allCached &= shards.stream().allMatch(ShardOutcome::cached);
            String name = data.evalSets().get(s).name();
            EvalOutcome e = call(() -> cpu.aggregateEval(new EvalAggregateRequest(input.pipelineId(), name,
                    shards.stream().map(ShardOutcome::uri).toList(), spec.seed(), spec.artifactRoot())));
            evals.add(e);
        }
        stages.add(new StageSummary("eval", "evaluate " + mode, seconds(stageStartMillis), compute, allCached, 1, 0, 0,
                0, 0,
                evals.isEmpty() ? null : evals.get(0).predictionsUri(), null, null, null, 0, null));
    }

    private PipelineResult report(CpuActivities cpu, PipelineInput input, PreparedData data) {
        return cpu.report(new Values.ReportRequest(input.pipelineId(), input.spec(), input.specDigest(), data,
                List.copyOf(stages), List.copyOf(evals), state, seconds(startMillis), tracking, judgeUri, failure,
                history()));
    }

    private Values.HistoryFigures history() {
        long own = Workflow.getInfo().getHistoryLength();
        return new Values.HistoryFigures(own, Math.max(own, largestChildHistory), runsContinued);
    }

    private void beginStage(String name) {
        stage = name;
        step = 0;
        totalSteps = 0;
        loss = null;
        stageStartMillis = Workflow.currentTimeMillis();
        stageStartStep = 0;
    }

    private double seconds(long fromMillis) {
        return (Workflow.currentTimeMillis() - fromMillis) / 1000.0;
    }

    private static ActivityOptions cpuOptions(PipelineSpec spec) {
        return cpuOptions(spec.taskQueues().cpu(), spec.heartbeatTimeoutSeconds());
    }

    private static ActivityOptions gpuOptions(PipelineSpec spec) {
        return gpuOptions(spec.taskQueues().gpu(), spec.heartbeatTimeoutSeconds());
    }

    /** CPU activities: they heartbeat too, so that a dead CPU worker is noticed after the heartbeat timeout. */
    static ActivityOptions cpuOptions(String queue, int heartbeatTimeoutSeconds) {
        return ActivityOptions.newBuilder().setTaskQueue(queue)
                .setStartToCloseTimeout(Duration.ofHours(2))
                .setHeartbeatTimeout(Duration.ofSeconds(heartbeatTimeoutSeconds))
                .setRetryOptions(RetryOptions.newBuilder().setInitialInterval(Duration.ofSeconds(1))
                        .setBackoffCoefficient(2).setMaximumInterval(Duration.ofMinutes(1)).setMaximumAttempts(10)
                        .setDoNotRetry(BAD_INPUT).build())
                .build();
    }

    static ActivityOptions gpuOptions(String queue, int heartbeatTimeoutSeconds) {
        return ActivityOptions.newBuilder().setTaskQueue(queue)
                .setStartToCloseTimeout(Duration.ofDays(7))
                .setHeartbeatTimeout(Duration.ofSeconds(heartbeatTimeoutSeconds))
                .setCancellationType(ActivityCancellationType.WAIT_CANCELLATION_COMPLETED)
                .setRetryOptions(RetryOptions.newBuilder().setInitialInterval(Duration.ofSeconds(1))
                        .setBackoffCoefficient(2).setMaximumInterval(Duration.ofMinutes(2)).setMaximumAttempts(50)
                        .setDoNotRetry(BAD_INPUT).build())
                .build();
    }

    @Override
    public Progress progress() {
        double elapsed = seconds(startMillis);
        Double remaining = null;
        if (totalSteps > 0 && step > stageStartStep) {
            double perStep = seconds(stageStartMillis) / (step - stageStartStep);
            remaining = perStep * (totalSteps - step);
        } else if (shardsTotal > 0 && shardsDone > 0 && ("cots".equals(stage) || "eval".equals(stage))) {
            remaining = seconds(stageStartMillis) / shardsDone * (shardsTotal - shardsDone);
        }
        return new Progress(state, stage, step, totalSteps, loss, shardsDone, shardsTotal, elapsed, remaining,
                resumes, List.copyOf(stages), gpuQueue, cpuQueue, null, 0, 0, history().largestEvents(),
                runsContinued);
    }

    @Override
    public void progressUpdate(ProgressUpdate u) {
        if (!u.stage().equals(stage)) {
            return;
        }
        if (step == 0 && u.resumedFromStep() > 0) {
            stageStartStep = u.resumedFromStep();
        }
        step = u.step();
        totalSteps = u.totalSteps();
        loss = Double.isNaN(u.loss()) ? null : u.loss();
    }
}
