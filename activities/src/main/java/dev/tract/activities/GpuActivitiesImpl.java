package dev.tract.activities;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tract.activities.artifacts.ArtifactStore;
import dev.tract.activities.artifacts.ArtifactStores;
import dev.tract.activities.artifacts.Digests;
import dev.tract.activities.tracking.SafeTracker;
import dev.tract.activities.tracking.Trackers;
import dev.tract.judge.data.CanonicalJson;
import dev.tract.judge.data.Datasets;
import dev.tract.judge.data.JudgeExample;
import dev.tract.judge.data.PromptTemplate;
import dev.tract.judge.data.SyntheticTask;
import dev.tract.judge.data.Targets;
import dev.tract.judge.generate.Generation;
import dev.tract.judge.generate.GenerationConfig;
import dev.tract.judge.generate.Generator;
import dev.tract.judge.model.Checkpoints;
import dev.tract.judge.model.LoraConfig;
import dev.tract.judge.score.ScoreConfig;
import dev.tract.judge.score.ScoreMode;
import dev.tract.judge.score.ScoredExample;
import dev.tract.judge.score.Scorer;
import dev.tract.judge.train.Checkpointer;
import dev.tract.judge.train.EncodedExample;
import dev.tract.judge.train.ExampleEncoder;
import dev.tract.judge.train.Objective;
import dev.tract.judge.train.StepMetrics;
import dev.tract.judge.train.TrainConfig;
import dev.tract.judge.train.TrainListener;
import dev.tract.judge.train.TrainResult;
import dev.tract.judge.train.Trainer;
import dev.tract.workflows.GpuActivities;
import dev.tract.workflows.Values;
import dev.tract.workflows.Values.TrainHeartbeat;
import dev.tract.workflows.spec.PipelineSpec;
import io.temporal.activity.Activity;
import io.temporal.activity.ActivityExecutionContext;
import io.temporal.failure.ApplicationFailure;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
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
 * Training, CoT generation and evaluation. Every output is stored under {@code stages/<kind>/<cache key>/} with a
 * {@code _SUCCESS} marker written last: an activity whose marker exists returns the stored result (cached), and a
 * retried shard rewrites the same file (no duplicates). Training uploads each checkpoint and then LATEST, heartbeats
 * {step, checkpointUri}, and on a retry resumes from the newer of its heartbeat details and the stored LATEST.
 */
public class GpuActivitiesImpl implements GpuActivities {
    /** Failure type of an attempt that gave up its task because the worker is shutting down. */
    public static final String WORKER_SHUTDOWN = "WorkerShutdown";
    private static final Logger LOG = LoggerFactory.getLogger(GpuActivitiesImpl.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String SUCCESS = "_SUCCESS";

    private final ActivityEnvironment env;
    private final Materializer materializer;

    public GpuActivitiesImpl(ActivityEnvironment env) {
        this.env = env;
        this.materializer = new Materializer(env.workDir());
    }

    /** The progress of one attempt, carried in heartbeats. {@code trainedStep} is the newest step done. */

    /**
     * The goodput ledger of a stage across attempts, kept beside its checkpoints: resumes, steps trained again
     * because a worker died after them but before their checkpoint, the compute that cost, and the time from the
     * dead attempt's last heartbeat to the resume.
     */
    public record Ledger(int attempts, int resumes, int lostSteps, double lostSeconds, double resumeWaitSeconds,
                         int handoffs) {}

    /** Failed attempts of a training stage before it gives up; hand-offs from workers shutting down do not count. */
    static final int TRAIN_FAILURE_BUDGET = 50;
    /** Failure type of a training stage that ran out of its failure budget, or of memory at its first step. */
    static final String GAVE_UP = "GaveUp";

    @Override
    public Values.TrainOutcome train(Values.TrainRequest req) {
        return Failures.run(() -> doTrain(req));
    }

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

    private static final Duration HEARTBEAT_INTERVAL = Duration.ofSeconds(PipelineSpec.HEARTBEAT_INTERVAL_SECONDS);

    /** A worker that is shutting down takes no new work: the task goes back at once to another worker. */
    private void refuseIfShuttingDown() {
        if (env.shuttingDown().get()) {
            throw ApplicationFailure.newFailure("worker shutting down: task left to another worker", WORKER_SHUTDOWN);
        }
    }

    private Values.TrainOutcome doTrain(Values.TrainRequest req) throws Exception {
        ActivityExecutionContext ctx = Activity.getExecutionContext();
        int attempt = ctx.getInfo().getAttempt();
        TrainHeartbeat previous = ctx.getHeartbeatDetails(TrainHeartbeat.class).orElse(null);
        TrainHeartbeat initial = previous != null ? previous
                : new TrainHeartbeat(0, null, 0, System.currentTimeMillis(), req.stage(), 0, null, 0, attempt);
        AtomicBoolean stop = new AtomicBoolean();
        // heartbeats from the first second: fetching the checkpoint, the model and the data can take minutes
        try (Heartbeats beats = new Heartbeats(ctx, HEARTBEAT_INTERVAL, stop, initial);
             ArtifactStore store = ArtifactStores.open(req.artifactRoot())) {
            String base = "stages/train/" + req.cacheKey();
            Optional<String> done = store.getString(base + "/" + SUCCESS);
            if (done.isPresent()) {
                Values.TrainOutcome o = JSON.readValue(done.get(), Values.TrainOutcome.class);
                return new Values.TrainOutcome(o.stage(), o.cacheKey(), o.modelUri(), o.modelDigest(), o.steps(),
                        o.totalSteps(), o.finalLoss(), 0, o.tokensPerSecond(), o.attempts(), o.resumes(),
                        o.lostSteps(), o.lostSeconds(), o.resumeWaitSeconds(), true, o.metricsUri(), 0);
            }
            Path local = env.workDir().resolve("train").resolve(dev.tract.workflows.CacheKeys.of(req.artifactRoot())
                    .substring(0, 8) + "-" + req.cacheKey());
            Path checkpoints = local.resolve("checkpoints");
            Files.createDirectories(checkpoints);
            Ledger ledger = store.getString(base + "/ledger.json").map(x -> read(x, Ledger.class))
                    .orElse(new Ledger(0, 0, 0, 0, 0, 0));
            if (env.shuttingDown().get()) {
                // a worker that is shutting down takes no new work: a hand-off too, not a failure
                store.putString(base + "/ledger.json", JSON.writeValueAsString(new Ledger(ledger.attempts(),
                        ledger.resumes(), ledger.lostSteps(), ledger.lostSeconds(), ledger.resumeWaitSeconds(),
                        ledger.handoffs() + 1)));
                refuseIfShuttingDown();
            }
            int failures = attempt - 1 - ledger.handoffs();
            if (failures >= TRAIN_FAILURE_BUDGET) {
                throw ApplicationFailure.newNonRetryableFailure("stage " + req.stage() + " failed " + failures
                        + " times (" + ledger.handoffs() + " hand-offs from workers shutting down not counted); "
                        + "giving up. The worker logs have each failure.", GAVE_UP);
            }
            env.faults().beforeLoading(req.stage(), attempt);
            fetchNewestCheckpoint(store, base, checkpoints, previous);

            Path modelDir = materializer.directory(req.modelUri(), store);
            List<JudgeExample> examples = new ArrayList<>();
            for (String uri : Manifests.expand(store, req.dataUris())) {
                examples.addAll(Datasets.load(materializer.file(uri, store)));
            }
            PipelineSpec.Stage h = req.hyper();
            Objective objective = Objective.named(req.objective());
            LoraConfig lora = h.lora() == null || h.lora().rank() == 0 ? null : new LoraConfig(h.lora().rank(),
                    h.lora().alpha(), h.lora().dropout(), h.lora().targets(), false);
            TrainConfig cfg = new TrainConfig(objective, h.steps(), h.epochs(), h.lr(), h.lambda(), h.batchSize(),
                    h.gradAccumulation(), h.maxLength(), h.warmupRatio(), h.weightDecay(), h.maxGradNorm(), false,
                    lora, req.seed(), req.checkpoint().everySteps(), req.checkpoint().everySeconds(), 2,
                    PromptTemplate.named(req.template()));
            AtomicInteger lost = new AtomicInteger();
            double[] stepSeconds = {0, 0};
            Duration[] stallBound = {null};
            StepLog stepLog = StepLog.resume(store, base + "/metrics.jsonl");
            try (Loaded m = Loaded.of(modelDir, env.device(), req.template(), h.maxLength());
                 SafeTracker tracker = Trackers.open(req.tracking(), req.pipelineId(), store)) {
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
                                    .orElse(new Ledger(0, 0, 0, 0, 0, 0));
                            store.putString(base + "/ledger.json", JSON.writeValueAsString(new Ledger(attempt,
                                    l.resumes() + 1, l.lostSteps() + lost.get(), l.lostSeconds(),
                                    l.resumeWaitSeconds() + wait, l.handoffs())));
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
                        current[0] = new TrainHeartbeat(current[0].step(), current[0].checkpointUri(), s.step(),
                                System.currentTimeMillis(), req.stage(), s.totalSteps(),
                                Double.isFinite(s.loss()) ? s.loss() : null, stepSeconds[0] / stepSeconds[1], attempt);
                        beats.details(current[0]);
                        beats.beat();
                        env.faults().afterStep(req.stage(), attempt, s.step());
                        if (env.shuttingDown().get()) {
                            stop.set(true);
                        }
                    }

                    @Override
                    public void onCheckpoint(int step, Path dir) {
                        // an upload retries for up to TRACT_UPLOAD_RETRY_SECONDS while the store is away
                        beats.unwatch();
                        String uri = uploadCheckpoint(store, base, dir, beats,
                                () -> env.faults().duringCheckpointUpload(req.stage(), attempt, step));
                        stepLog.save(step);
                        tracker.flush();
                        current[0] = new TrainHeartbeat(step, uri, step, System.currentTimeMillis(), req.stage(),
                                current[0].totalSteps(), current[0].loss(), current[0].meanStepSeconds(), attempt);
                        beats.details(current[0]);
                        beats.beat();
                        if (stallBound[0] != null) {
                            beats.watch(stallBound[0]);
                        }
                    }
                });
                TrainResult result;
                try {
                    result = trainer.run(checkpoints, true, stop::get);
                } catch (ai.djl.engine.EngineException | OutOfMemoryError e) {
                    if (stepSeconds[1] == 0 && String.valueOf(e.getMessage()).toLowerCase(java.util.Locale.ROOT)
                            .contains("out of memory")) {
                        // the first step does not fit: the configuration guarantees it, a retry cannot help
                        throw ApplicationFailure.newNonRetryableFailure("stage " + req.stage() + ": out of memory "
                                + "at the first step with " + req.stage() + ".batch_size " + h.batchSize() + " and "
                                + req.stage() + ".max_length " + h.maxLength() + " on " + env.device() + "; lower "
                                + "batch_size (and raise grad_accumulation to keep the effective batch) or "
                                + "max_length: " + e.getMessage(), GAVE_UP);
                    }
                    throw e;
                }
                double perStep = stepSeconds[1] == 0 ? 0 : stepSeconds[0] / stepSeconds[1];
                Ledger updated = store.getString(base + "/ledger.json").map(s -> read(s, Ledger.class))
                        .map(l -> new Ledger(attempt, l.resumes(), l.lostSteps(), l.lostSteps() * perStep,
                                l.resumeWaitSeconds(), l.handoffs())).orElse(new Ledger(attempt, 0, 0, 0, 0, 0));
                store.putString(base + "/ledger.json", JSON.writeValueAsString(updated));
                beats.unwatch();
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
                            updated.resumeWaitSeconds(), updated.handoffs() + 1)));
                    throw ApplicationFailure.newFailure("worker shutting down: stage " + req.stage()
                            + " checkpointed at step " + result.steps(), WORKER_SHUTDOWN);
                }
                Path out = local.resolve("model");
                if (m.model().lora() != null) {
                    m.model().lora().save(out.resolve("adapter"), req.modelUri());
                    m.model().mergeLora();
                }
                Checkpoints.save(m.model(), out);
                m.tokenizer().copyTo(out);
                store.putDirectory(base + "/model", out);
                stepLog.save(result.steps());
                tracker.metric(runId, "train/resumes", updated.resumes(), result.steps());
                tracker.metric(runId, "train/lost_steps", updated.lostSteps(), result.steps());
                tracker.metric(runId, "train/lost_seconds", updated.lostSeconds(), result.steps());
                tracker.metric(runId, "train/resume_wait_seconds", updated.resumeWaitSeconds(), result.steps());
                tracker.flush();
                Values.TrainOutcome outcome = new Values.TrainOutcome(req.stage(), req.cacheKey(),
                        store.uri(base + "/model"), Digests.sha256(out.resolve(Checkpoints.WEIGHTS)), result.steps(),
                        result.totalSteps(), result.finalLoss(), result.seconds(), result.tokensPerSecond(),
                        updated.attempts(), updated.resumes(), updated.lostSteps(), updated.lostSeconds(),
                        updated.resumeWaitSeconds(), false, store.uri(base + "/metrics.jsonl"), tracker.failures());
                store.putString(base + "/" + SUCCESS, JSON.writeValueAsString(outcome));
                return outcome;
            }
        }
    }

    private static <T> T read(String json, Class<T> type) {
        try {
            return JSON.readValue(json, type);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** How long a checkpoint upload keeps retrying while the store is unreachable. */
    static final long UPLOAD_RETRY_MILLIS = Long.parseLong(System.getenv().getOrDefault(
            "TRACT_UPLOAD_RETRY_SECONDS", "600")) * 1000;

    /**
     * Uploads a checkpoint folder, then points the stored LATEST at it (only once every file is stored, so LATEST
     * never names an incomplete checkpoint); retries with backoff while the store is unreachable, heartbeating.
     * Returns the checkpoint's URI.
     */
    private static String uploadCheckpoint(ArtifactStore store, String base, Path dir, Heartbeats beats,
                                           Runnable midUpload) {
        String prefix = base + "/checkpoints/" + dir.getFileName();
        long deadline = System.currentTimeMillis() + UPLOAD_RETRY_MILLIS;
        long wait = 500;
        while (true) {
            try {
                List<Path> files;
                try (var walk = Files.walk(dir)) {
                    // the manifest goes last: a stored checkpoint with a manifest has all its files
                    files = walk.filter(Files::isRegularFile).sorted(java.util.Comparator.comparing(
                            (Path f) -> f.getFileName().toString().equals(Checkpointer.MANIFEST))
                            .thenComparing(Path::toString)).toList();
                }
                for (int i = 0; i < files.size(); i++) {
                    Path f = files.get(i);
                    store.putFile(prefix + "/" + dir.relativize(f).toString().replace('\\', '/'), f);
                    if (i == 0) {
                        midUpload.run();
                    }
                }
                store.putString(base + "/checkpoints/" + Checkpointer.LATEST, dir.getFileName().toString());
                break;
            } catch (IOException | RuntimeException e) {
                if (System.currentTimeMillis() + wait > deadline) {
                    throw new UncheckedIOException(new IOException("checkpoint upload to " + store.uri(prefix)
                            + " failed for " + UPLOAD_RETRY_MILLIS / 1000 + " s: " + e.getMessage(), e));
                }
                LOG.warn("checkpoint upload to {} failed ({}); retrying in {} ms", store.uri(prefix), e.getMessage(),
                        wait);
                beats.beat();
                try {
                    Thread.sleep(wait);
                } catch (InterruptedException ie) {
                    Thread.currentThread().interrupt();
                    throw new IllegalStateException("interrupted during checkpoint upload", ie);
                }
                wait = Math.min(wait * 2, 10_000);
            }
        }
        try {
            List<String> names = store.list(base + "/checkpoints").stream()
                    .map(k -> k.substring(base.length() + "/checkpoints/".length()))
                    .filter(k -> k.contains("/")).map(k -> k.substring(0, k.indexOf('/')))
                    .filter(Checkpointer::isName).distinct().sorted(Checkpointer.BY_STEP).toList();
            for (int i = 0; i < names.size() - 2; i++) {
                store.deletePrefix(base + "/checkpoints/" + names.get(i));
            }
        } catch (IOException e) {
            LOG.warn("could not prune old checkpoints under {}: {}", store.uri(base), e.getMessage());
        }
        return store.uri(prefix);
    }

    /**
     * Makes the newest durable checkpoint (the newer of the heartbeat's and the stored LATEST) available locally,
     * so that the trainer resumes from it.
     */
    private static void fetchNewestCheckpoint(ArtifactStore store, String base, Path local, TrainHeartbeat beat)
            throws IOException {
        List<String> candidates = new ArrayList<>();
        store.getString(base + "/checkpoints/" + Checkpointer.LATEST).map(String::strip).ifPresent(candidates::add);
        if (beat != null && beat.checkpointUri() != null) {
            candidates.add(beat.checkpointUri().substring(beat.checkpointUri().lastIndexOf('/') + 1));
        }
        // the newer of the heartbeat's and LATEST first, then any older one (a corrupt newest falls back)
        store.list(base + "/checkpoints").stream().map(k -> k.substring(base.length() + "/checkpoints/".length()))
                .filter(k -> k.contains("/")).map(k -> k.substring(0, k.indexOf('/'))).filter(Checkpointer::isName)
                .forEach(candidates::add);
        List<String> ordered = candidates.stream().filter(Checkpointer::isName).distinct()
                .sorted(Checkpointer.BY_STEP.reversed()).toList();
        for (String name : ordered) {
            Path target = local.resolve(name);
            try {
                if (!Files.isRegularFile(target.resolve(Checkpointer.MANIFEST))) {
                    Path tmp = local.resolve(name + ".download");
                    if (Files.exists(tmp)) {
                        deleteTree(tmp);
                    }
                    store.getDirectory(base + "/checkpoints/" + name, tmp);
                    if (!Files.isRegularFile(tmp.resolve(Checkpointer.MANIFEST))) {
                        deleteTree(tmp);
                        throw new IOException("incomplete (no manifest)");
                    }
                    try {
                        new Checkpointer(local, 2).restore(tmp);
                    } catch (dev.tract.judge.train.CorruptCheckpointException e) {
                        deleteTree(tmp);
                        throw new IOException(e.getMessage());
                    }
                    if (Files.exists(target)) {
                        deleteTree(target);
                    }
                    Files.move(tmp, target);
                }
                Files.writeString(local.resolve(Checkpointer.LATEST), name + "\n", StandardCharsets.UTF_8);
                LOG.info("resuming from stored checkpoint {}", name);
                return;
            } catch (IOException e) {
                LOG.warn("stored checkpoint {} unusable ({}); trying an older one", name, e.getMessage());
            }
        }
    }

    private static void deleteTree(Path p) throws IOException {
        try (var s = Files.walk(p)) {
            for (Path q : s.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(q);
            }
        }
    }

    @Override
    public Values.ShardOutcome generateCots(Values.CotShardRequest req) {
        return Failures.run(() -> shard("cots", req.cacheKey(), req.shard(), req.artifactRoot(), (store, out) -> {
            List<JudgeExample> all = Datasets.load(materializer.file(req.dataUri(), store));
            List<JudgeExample> part = all.subList(req.from(), Math.min(all.size(), req.to()));
            PipelineSpec.Generation g = req.generation();
            GenerationConfig sampling = new GenerationConfig(g.maxNewTokens(), true, g.temperature(), 0, g.topP(),
                    g.repetitionPenalty(), List.of(Targets.RESULT), req.seed(), true);
            List<JudgeExample> generated = new ArrayList<>();
            int wellFormed = 0;
            int checked = 0;
            int correct = 0;
            int cut = 0;
            try (Loaded m = Loaded.of(materializer.directory(req.modelUri(), store), env.device(), req.template(),
                    req.maxLength())) {
                Generator generator = new Generator(m.model(), m.tokenizer());
                int batch = Math.max(1, env.generationBatch());
                for (int i = 0; i < part.size(); i += batch) {
                    List<JudgeExample> chunk = part.subList(i, Math.min(part.size(), i + batch));
                    List<long[]> prompts = new ArrayList<>();
                    long[] seeds = new long[chunk.size()];
                    for (int j = 0; j < chunk.size(); j++) {
                        ExampleEncoder.Prompt p = m.encoder().prompt(chunk.get(j), g.maxNewTokens() + 32);
                        prompts.add(p.ids());
                        cut += p.cut() ? 1 : 0;
                        seeds[j] = req.seed() * 1_000_003L + req.from() + i + j;
                    }
                    List<Generation> gens = generator.generateIds(prompts, sampling, seeds);
                    for (int j = 0; j < chunk.size(); j++) {
                        String cot = Targets.cutFeedback(gens.get(j).text());
                        wellFormed += Targets.wellFormed(gens.get(j)) ? 1 : 0;
                        Optional<Boolean> right = SyntheticTask.feedbackCorrect(chunk.get(j), cot);
                        checked += right.isPresent() ? 1 : 0;
                        correct += right.orElse(false) ? 1 : 0;
                        // the new target keeps the GOLD score, never the model's own
                        generated.add(chunk.get(j).withFeedbacks(List.of(cot)));
                    }
                    out.progress();
                }
            }
            CanonicalJson.write(out.file(), generated);
            return new ShardResult(generated.size(), new Values.CotQuality(generated.size(), wellFormed, checked,
                    correct, cut));
        }));
    }

    @Override
    public Values.ShardOutcome evaluateShard(Values.EvalShardRequest req) {
        return Failures.run(() -> shard("eval", req.cacheKey(), req.shard(), req.artifactRoot(), (store, out) -> {
            List<JudgeExample> all = Datasets.load(materializer.file(req.dataUri(), store));
            List<JudgeExample> part = all.subList(req.from(), Math.min(all.size(), req.to()));
            PipelineSpec.Generation g = req.generation();
            GenerationConfig sampling = new GenerationConfig(g.maxNewTokens(), true, g.temperature(), 0, g.topP(),
                    g.repetitionPenalty(), List.of(Targets.RESULT), req.seed(), true);
            ScoreMode mode = ScoreMode.named(req.mode());
            ScoreConfig cfg = new ScoreConfig(mode, req.nCot(), sampling, false, env.generationBatch(), req.seed());
            List<ScoredExample> scored;
            try (Loaded m = Loaded.of(materializer.directory(req.modelUri(), store), env.device(), req.template(),
                    req.maxLength())) {
                scored = new Scorer(m.model(), m.tokenizer(), m.encoder()).score(part, cfg, req.from(),
                        done -> out.progress());
            }
            StringBuilder sb = new StringBuilder();
            for (ScoredExample s : scored) {
                sb.append(JSON.writeValueAsString(s.toJson())).append('\n');
            }
            Files.writeString(out.file(), sb, StandardCharsets.UTF_8);
            // the quality of the feedbacks is counted once, from the joined predictions (aggregateEval)
            return new ShardResult(scored.size(), null);
        }));
    }

    /** What a shard wrote: its record count and the quality of the feedbacks it generated. */
    private record ShardResult(int count, Values.CotQuality quality) {}

    /** The body of a shard activity: writes its output file and says what it wrote. */
    private interface ShardBody {
        ShardResult run(ArtifactStore store, ShardOutput out) throws Exception;
    }

    /** Where a shard writes, and a way to heartbeat between batches. */
    private record ShardOutput(Path file, Heartbeats beats, AtomicBoolean shuttingDown) {
        void progress() {
            beats.beat();
            if (beats.cancellation() != null) {
                throw beats.cancellation();
            }
            if (shuttingDown.get()) {
                throw ApplicationFailure.newFailure("worker shutting down: shard given up to another worker",
                        WORKER_SHUTDOWN);
            }
        }
    }

    private Values.ShardOutcome shard(String kind, String key, int shard, String root, ShardBody body)
            throws Exception {
        refuseIfShuttingDown();
        ActivityExecutionContext ctx = Activity.getExecutionContext();
        try (Heartbeats beats = new Heartbeats(ctx, HEARTBEAT_INTERVAL, new AtomicBoolean(), shard);
             ArtifactStore store = ArtifactStores.open(root)) {
            String base = "stages/" + kind + "/" + key;
            String file = base + "/" + (kind.equals("cots") ? "cots.jsonl" : "predictions.jsonl");
            Optional<String> done = store.getString(base + "/" + SUCCESS);
            if (done.isPresent()) {
                ObjectNode o = (ObjectNode) JSON.readTree(done.get());
                Values.CotQuality quality = o.hasNonNull("quality")
                        ? JSON.treeToValue(o.get("quality"), Values.CotQuality.class) : null;
                return new Values.ShardOutcome(store.uri(file), shard, o.get("count").asInt(), 0, true, quality);
            }
            long start = System.nanoTime();
            Path local = env.workDir().resolve(kind).resolve(key + ".jsonl");
            Files.createDirectories(local.getParent());
            ShardResult result = body.run(store, new ShardOutput(local, beats, env.shuttingDown()));
            double seconds = (System.nanoTime() - start) / 1e9;
            store.putFile(file, local);
            ObjectNode marker = JSON.createObjectNode().put("count", result.count()).put("seconds", seconds);
            marker.set("quality", JSON.valueToTree(result.quality()));
            store.putString(base + "/" + SUCCESS, marker.toString());
            return new Values.ShardOutcome(store.uri(file), shard, result.count(), seconds, false, result.quality());
        }
    }
}
