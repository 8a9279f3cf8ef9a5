package dev.tract.activities;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tract.activities.artifacts.ArtifactStore;
import dev.tract.activities.artifacts.CorruptArtifactException;
import dev.tract.activities.artifacts.ArtifactStores;
import dev.tract.activities.tracking.SafeTracker;
import dev.tract.activities.tracking.Trackers;
import dev.tract.judge.data.CanonicalJson;
import dev.tract.judge.data.Datasets;
import dev.tract.judge.data.JudgeExample;
import dev.tract.judge.data.PromptTemplate;
import dev.tract.judge.model.Checkpoints;
import dev.tract.judge.model.LoraConfig;
import dev.tract.judge.train.EncodedExample;
import dev.tract.judge.train.Objective;
import dev.tract.judge.train.StepMetrics;
import dev.tract.judge.train.TrainConfig;
import dev.tract.judge.train.TrainListener;
import dev.tract.judge.train.TrainResult;
import dev.tract.judge.train.Trainer;
import dev.tract.workflows.Values;
import dev.tract.workflows.Values.TrainHeartbeat;
import dev.tract.workflows.spec.PipelineSpec;
import io.temporal.activity.Activity;
import io.temporal.activity.ActivityExecutionContext;
import io.temporal.failure.ApplicationFailure;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The training activity: one stage of TRACT (or a baseline), from the seed model and its data to a stored judge.
 * Its output is stored under {@code stages/train/<cache key>/} with a {@code _SUCCESS} marker written last; an
 * attempt heartbeats from its first second, resumes from the newest durable checkpoint (the newer of its heartbeat
 * details and the stored LATEST, see {@link TrainingWorkspace}), uploads checkpoints in the background, and keeps the
 * stage's goodput ledger.
 */
final class TrainActivity {
    private static final Logger LOG = LoggerFactory.getLogger(TrainActivity.class);
    private static final ObjectMapper JSON = new ObjectMapper();

    private final ActivityEnvironment env;
    private final Materializer materializer;
    private final VerifiedModels models;

    TrainActivity(ActivityEnvironment env, Materializer materializer, VerifiedModels models) {
        this.env = env;
        this.materializer = materializer;
        this.models = models;
    }

    /**
     * The goodput ledger of a stage across attempts, kept beside its checkpoints: resumes, steps trained again
     * because a worker died after them but before their checkpoint, the compute that cost, and the time from the
     * dead attempt's last heartbeat to the resume.
     */
    public record Ledger(int attempts, int resumes, int lostSteps, double lostSeconds, double resumeWaitSeconds,
                         int handoffs, double storageWaitSeconds) {}

    /** Failed attempts of a training stage before it gives up; hand-offs from workers shutting down do not count. */
    static final int TRAIN_FAILURE_BUDGET = 50;
    /** Failure type of a training stage that ran out of its failure budget, or of memory at its first step. */
    static final String GAVE_UP = "GaveUp";

    /** Failure type of an attempt given up because no training step completed within the stall bound. */
    static final String STALLED = "Stalled";
    /** Steps measured before the stall watchdog starts (the first steps warm up). */
    static final int WATCH_AFTER_STEPS = 3;

    /**
     * How long a training attempt may go without completing a step: 20 times the mean step time measured so far,
     * and at least {@code TRACT_STALL_MIN_SECONDS} (600 s by default; the JVM property {@code tract.stallMinSeconds}
     * overrides it), which also covers writing a checkpoint to local disk.
     */
    static Duration stallBound(double meanStepSeconds) {
        String min = System.getProperty("tract.stallMinSeconds", System.getenv().getOrDefault(
                "TRACT_STALL_MIN_SECONDS", "600"));
        double seconds = Math.max(Double.parseDouble(min), 20 * meanStepSeconds);
        return Duration.ofMillis((long) (seconds * 1000));
    }

    Values.TrainOutcome run(Values.TrainRequest req) throws Exception {
        ActivityExecutionContext ctx = Activity.getExecutionContext();
        int attempt = ctx.getInfo().getAttempt();
        TrainHeartbeat previous = ctx.getHeartbeatDetails(TrainHeartbeat.class).orElse(null);
        TrainHeartbeat initial = previous != null ? previous
                : new TrainHeartbeat(0, null, 0, System.currentTimeMillis(), req.stage(), 0, null, 0, attempt);
        AtomicBoolean stop = new AtomicBoolean();
        // heartbeats from the first second: fetching the checkpoint, the model and the data can take minutes
        try (Heartbeats beats = new Heartbeats(ctx, GpuActivitiesImpl.HEARTBEAT_INTERVAL, stop, initial);
             ArtifactStore store = env.store(req.artifactRoot())) {
            String base = "stages/train/" + req.cacheKey();
            Optional<String> done = store.getString(base + "/" + GpuActivitiesImpl.SUCCESS);
            Values.TrainOutcome cached = done.isPresent() ? JSON.readValue(done.get(), Values.TrainOutcome.class)
                    : null;
            if (cached != null && !verifies(store, cached)) {
                store.deletePrefix(base + "/" + GpuActivitiesImpl.SUCCESS);
                cached = null;
            }
            if (cached != null) {
                Values.TrainOutcome o = cached;
                return new Values.TrainOutcome(o.stage(), o.cacheKey(), o.modelUri(), o.modelDigest(), o.steps(),
                        o.totalSteps(), o.finalLoss(), 0, o.tokensPerSecond(), o.attempts(), o.resumes(),
                        o.lostSteps(), o.lostSeconds(), o.resumeWaitSeconds(), true, o.metricsUri(), 0);
            }
            // one local folder per stage and pipeline: two pipelines training the same stage on one worker do not
            // write each other's checkpoints; they meet only in the store, under TrainingWorkspace's rules
            Path local = env.workDir().resolve("train").resolve(dev.tract.workflows.CacheKeys.of(req.artifactRoot())
                    .substring(0, 8) + "-" + req.cacheKey()).resolve(dev.tract.workflows.CacheKeys.of(
                    req.pipelineId()).substring(0, 12));
            Path checkpoints = local.resolve("checkpoints");
            Files.createDirectories(checkpoints);
            Ledger ledger = store.getString(base + "/ledger.json").map(x -> read(x, Ledger.class))
                    .orElse(new Ledger(0, 0, 0, 0, 0, 0, 0));
            if (env.shuttingDown().get()) {
                // a worker that is shutting down takes no new work: a hand-off too, not a failure
                store.putString(base + "/ledger.json", JSON.writeValueAsString(new Ledger(ledger.attempts(),
                        ledger.resumes(), ledger.lostSteps(), ledger.lostSeconds(), ledger.resumeWaitSeconds(),
                        ledger.handoffs() + 1, ledger.storageWaitSeconds())));
                GpuActivitiesImpl.refuseIfShuttingDown(env);
            }
            int failures = attempt - 1 - ledger.handoffs();
            if (failures >= TRAIN_FAILURE_BUDGET) {
                throw ApplicationFailure.newNonRetryableFailure("stage " + req.stage() + " failed " + failures
                        + " times (" + ledger.handoffs() + " hand-offs from workers shutting down not counted); "
                        + "giving up. The worker logs have each failure.", GAVE_UP);
            }
            env.faults().beforeLoading(req.stage(), attempt);
            TrainingWorkspace workspace = new TrainingWorkspace(store, base, checkpoints, beats, "w"
                    + dev.tract.workflows.CacheKeys.of(ctx.getInfo().getWorkflowId(), ctx.getInfo().getActivityId(),
                    attempt).substring(0, 10));
            workspace.fetchNewest(previous);

            Path modelDir = models.verified(req.modelUri(), req.modelDigest(), store);
            List<JudgeExample> examples = new ArrayList<>();
            for (String uri : Manifests.expand(store, req.dataUris())) {
                examples.addAll(Datasets.load(materializer.file(uri, store)));
            }
            if (req.dataUris().size() == 1 && !req.dataUris().get(0).startsWith(Values.MANIFEST)
                    && !CanonicalJson.digest(examples).equals(req.dataDigest())) {
                throw new CorruptArtifactException(req.dataUris().get(0) + ": the data's digest "
                        + CanonicalJson.digest(examples) + " does not match the recorded " + req.dataDigest());
            }
            PipelineSpec.Stage h = req.hyper();
            Objective objective = Objective.named(req.objective());
            TrainConfig cfg = config(req);
            AtomicInteger lost = new AtomicInteger();
            double[] stepSeconds = {0, 0};
            Duration[] stallBound = {null};
            StepLog stepLog = StepLog.resume(store, base + "/metrics.jsonl");
            try (Loaded m = Loaded.of(modelDir, env.device(), req.template(), h.maxLength());
                 SafeTracker tracker = Trackers.open(req.tracking(), req.pipelineId(), store,
                         env.destinations())) {
                String runId = req.runId();
                long logged = tracker.lastStep(runId, "train/loss").orElse(0);
                tracker.setTags(runId, Map.of("temporal.attempt", String.valueOf(attempt), "tract.stage",
                        req.stage(), "tract.objective", req.objective(), "data.digest", req.dataDigest()));
                List<EncodedExample> encoded = Trainer.encode(examples, m.encoder(), objective);
                TrainHeartbeat[] current = {initial};
                Trainer trainer = new Trainer(m.model(), m.tokenizer(), m.encoder(), cfg, encoded, new TrainListener() {
                    @Override
                    public void onResume(int step, Path checkpoint) {
                        if (previous != null) {
                            lost.set(Math.max(0, previous.trainedStep() - step));
                        }
                        double wait = previous == null ? 0
                                : Math.max(0, (System.currentTimeMillis() - previous.timestampMillis()) / 1000.0);
                        LOG.info("stage {} attempt {} resumes at step {}: {} step(s) lost, {} s since the last "
                                + "heartbeat", req.stage(), attempt, step, lost.get(), String.format("%.1f", wait));
                        // recorded at once: this attempt may die too, and its resume still counts
                        try {
                            Ledger l = store.getString(base + "/ledger.json").map(s -> read(s, Ledger.class))
                                    .orElse(new Ledger(0, 0, 0, 0, 0, 0, 0));
                            store.putString(base + "/ledger.json", JSON.writeValueAsString(new Ledger(attempt,
                                    l.resumes() + 1, l.lostSteps() + lost.get(), l.lostSeconds(),
                                    l.resumeWaitSeconds() + wait, l.handoffs(), l.storageWaitSeconds())));
                        } catch (IOException e) {
                            throw new UncheckedIOException(e);
                        }
                    }

                    @Override
                    public void onStep(StepMetrics s) {
                        stepLog.add(s);
                        if (s.step() > logged) {
                            tracker.metric(runId, "train/loss", s.loss(), s.step());
                            tracker.metric(runId, "train/ce_loss", s.ceLoss(), s.step());
                            tracker.metric(runId, "train/raft_loss", s.raftLoss(), s.step());
                            tracker.metric(runId, "train/lr", s.lr(), s.step());
                            tracker.metric(runId, "train/grad_norm", s.gradNorm(), s.step());
                            tracker.metric(runId, "train/tokens_per_s", s.tokensPerSecond(), s.step());
                        }
                        stepSeconds[0] += s.seconds();
                        stepSeconds[1]++;
                        beats.progressed();
                        if (stepSeconds[1] == WATCH_AFTER_STEPS) {
                            stallBound[0] = stallBound(stepSeconds[0] / stepSeconds[1]);
                            beats.watch(stallBound[0]);
                        }
                        synchronized (current) {
                            current[0] = new TrainHeartbeat(current[0].step(), current[0].checkpointUri(), s.step(),
                                    System.currentTimeMillis(), req.stage(), s.totalSteps(),
                                    Double.isFinite(s.loss()) ? s.loss() : null, stepSeconds[0] / stepSeconds[1],
                                    attempt);
                            beats.details(current[0]);
                        }
                        beats.beat();
                        env.faults().afterStep(req.stage(), attempt, s.step());
                        if (env.shuttingDown().get()) {
                            stop.set(true);
                        }
                    }

                    @Override
                    public void onCheckpoint(int step, Path dir) {
                        // stored in the background while training goes on; the heartbeat names it once stored
                        try {
                            workspace.publishInBackground(dir, step,
                                    () -> env.faults().duringCheckpointUpload(req.stage(), attempt, step),
                                    (stored, uri) -> {
                                        stepLog.save(stored);
                                        if (uri != null) {
                                            synchronized (current) {
                                                current[0] = new TrainHeartbeat(stored, uri,
                                                        current[0].trainedStep(), System.currentTimeMillis(),
                                                        req.stage(), current[0].totalSteps(), current[0].loss(),
                                                        current[0].meanStepSeconds(), attempt);
                                                beats.details(current[0]);
                                            }
                                            beats.beat();
                                        }
                                    });
                        } catch (IOException e) {
                            throw new UncheckedIOException(e);
                        }
                        tracker.flush();
                    }
                });
                TrainResult result;
                try {
                    result = runTrainer(trainer, checkpoints, stop, workspace, req, store, base, stepSeconds, h);
                } finally {
                    // the final checkpoint (and any still queued) is stored before the stage ends or hands off
                    beats.unwatch();
                    try {
                        workspace.flush();
                    } finally {
                        workspace.close();
                    }
                }
                if (workspace.waitedSeconds() > 0.5) {
                    LOG.info("stage {}: {} s of training waited for checkpoint uploads", req.stage(),
                            String.format("%.1f", workspace.waitedSeconds()));
                }
                double perStep = stepSeconds[1] == 0 ? 0 : stepSeconds[0] / stepSeconds[1];
                Ledger updated = store.getString(base + "/ledger.json").map(s -> read(s, Ledger.class))
                        .map(l -> new Ledger(attempt, l.resumes(), l.lostSteps(), l.lostSteps() * perStep,
                                l.resumeWaitSeconds(), l.handoffs(), l.storageWaitSeconds() + workspace.waitedSeconds()))
                        .orElse(new Ledger(attempt, 0, 0, 0, 0, 0, workspace.waitedSeconds()));
                store.putString(base + "/ledger.json", JSON.writeValueAsString(updated));
                if (result.stopped()) {
                    if (beats.cancellation() != null) {
                        throw beats.cancellation();
                    }
                    if (beats.stalled()) {
                        throw ApplicationFailure.newFailure("stage " + req.stage() + ": a training step took longer "
                                + "than " + stallBound[0].toSeconds() + " s; the attempt was given up", STALLED);
                    }
                    // a hand-off, not a failure: it does not count against the failure budget
                    store.putString(base + "/ledger.json", JSON.writeValueAsString(new Ledger(updated.attempts(),
                            updated.resumes(), updated.lostSteps(), updated.lostSeconds(),
                            updated.resumeWaitSeconds(), updated.handoffs() + 1, updated.storageWaitSeconds())));
                    throw ApplicationFailure.newFailure("worker shutting down: stage " + req.stage()
                            + " checkpointed at step " + result.steps(), GpuActivitiesImpl.WORKER_SHUTDOWN);
                }
                Path out = local.resolve("model");
                if (m.model().lora() != null) {
                    m.model().lora().save(out.resolve("adapter"), req.modelUri());
                    m.model().mergeLora();
                }
                Checkpoints.save(m.model(), out);
                m.tokenizer().copyTo(out);
                if (!workspace.mayPublish()) {
                    throw ApplicationFailure.newFailure("stage " + req.stage() + ": this attempt lost its lease and "
                            + "wrote nothing; the attempt the server knows finishes the stage", GpuActivitiesImpl.WORKER_SHUTDOWN);
                }
                store.putDirectory(base + "/model", out);
                stepLog.save(result.steps());
                tracker.metric(runId, "train/resumes", updated.resumes(), result.steps());
                tracker.metric(runId, "train/lost_steps", updated.lostSteps(), result.steps());
                tracker.metric(runId, "train/lost_seconds", updated.lostSeconds(), result.steps());
                tracker.metric(runId, "train/resume_wait_seconds", updated.resumeWaitSeconds(), result.steps());
                tracker.metric(runId, "train/storage_wait_seconds", updated.storageWaitSeconds(), result.steps());
                tracker.flush();
                Values.TrainOutcome outcome = new Values.TrainOutcome(req.stage(), req.cacheKey(),
                        store.uri(base + "/model"), ModelDigests.of(out, models.digests()), result.steps(),
                        result.totalSteps(), result.finalLoss(), result.seconds(), result.tokensPerSecond(),
                        updated.attempts(), updated.resumes(), updated.lostSteps(), updated.lostSeconds(),
                        updated.resumeWaitSeconds(), false, store.uri(base + "/metrics.jsonl"), tracker.failures());
                store.putString(base + "/" + GpuActivitiesImpl.SUCCESS, JSON.writeValueAsString(outcome));
                return outcome;
            }
        }
    }

    /**
     * Runs the trainer. Checkpoints under the key that belong to another run (the code changed, or an input the key
     * misses) make the stage start again rather than fail for good in a folder its own key chose; running out of
     * memory at the first step is not retried, since the configuration guarantees it.
     */
    private TrainResult runTrainer(Trainer trainer, Path checkpoints, AtomicBoolean stop, TrainingWorkspace workspace,
                                   Values.TrainRequest req, ArtifactStore store, String base, double[] stepSeconds,
                                   PipelineSpec.Stage h) throws IOException {
        try {
            try {
                return trainer.run(checkpoints, true, stop::get);
            } catch (dev.tract.judge.JudgeInputException e) {
                if (!"config_digest".equals(e.field())) {
                    throw e;
                }
                LOG.warn("stage {}: the checkpoints under {} belong to another run ({}); starting the stage again",
                        req.stage(), store.uri(base + "/checkpoints"), e.getMessage());
                workspace.clear();
                return trainer.run(checkpoints, true, stop::get);
            }
        } catch (ai.djl.engine.EngineException | OutOfMemoryError e) {
            if (stepSeconds[1] == 0 && String.valueOf(e.getMessage()).toLowerCase(java.util.Locale.ROOT)
                    .contains("out of memory")) {
                throw ApplicationFailure.newNonRetryableFailure("stage " + req.stage() + ": out of memory at the "
                        + "first step with " + req.stage() + ".batch_size " + h.batchSize() + " and " + req.stage()
                        + ".max_length " + h.maxLength() + " on " + env.device() + "; lower batch_size (and raise "
                        + "grad_accumulation to keep the effective batch) or max_length: " + e.getMessage(), GAVE_UP);
            }
            throw e;
        }
    }

    /**
     * The trainer's configuration of a request. Everything in it that changes the result is in the stage's cache key
     * (see {@code TractPipelineWorkflowImpl.trainKey}), so that a key names one trainer config digest.
     */
    static TrainConfig config(Values.TrainRequest req) {
        PipelineSpec.Stage h = req.hyper();
        LoraConfig lora = h.lora() == null || h.lora().rank() == 0 ? null : new LoraConfig(h.lora().rank(),
                h.lora().alpha(), h.lora().dropout(), h.lora().targets(), false);
        return new TrainConfig(Objective.named(req.objective()), h.steps(), h.epochs(), h.lr(), h.lambda(),
                h.batchSize(), h.gradAccumulation(), h.maxLength(), h.warmupRatio(), h.weightDecay(),
                h.maxGradNorm(), false, lora, req.seed(), req.checkpoint().everySteps(),
                req.checkpoint().everySeconds(), 2, PromptTemplate.named(req.template()));
    }

    /** Whether a cached stage output is still what its outcome recorded; says why not in the log. */
    private boolean verifies(ArtifactStore store, Values.TrainOutcome o) {
        try {
            models.verified(o.modelUri(), o.modelDigest(), store);
            return true;
        } catch (IOException | RuntimeException e) {
            LOG.warn("stage {}: its cached output is not what was recorded, so it is trained again: {}", o.stage(),
                    e.getMessage());
            return false;
        }
    }

    private static <T> T read(String json, Class<T> type) {
        try {
            return JSON.readValue(json, type);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
