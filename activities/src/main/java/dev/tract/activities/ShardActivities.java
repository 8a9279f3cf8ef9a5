package dev.tract.activities;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tract.activities.artifacts.ArtifactStore;
import dev.tract.activities.artifacts.ArtifactStores;
import dev.tract.activities.artifacts.CorruptArtifactException;
import dev.tract.judge.data.CanonicalJson;
import dev.tract.judge.data.Datasets;
import dev.tract.judge.data.JudgeExample;
import dev.tract.judge.data.SyntheticTask;
import dev.tract.judge.data.Targets;
import dev.tract.judge.generate.Generation;
import dev.tract.judge.generate.GenerationConfig;
import dev.tract.judge.generate.Generator;
import dev.tract.judge.score.ScoreConfig;
import dev.tract.judge.score.ScoreMode;
import dev.tract.judge.score.ScoredExample;
import dev.tract.judge.score.Scorer;
import dev.tract.judge.train.ExampleEncoder;
import dev.tract.workflows.Values;
import dev.tract.workflows.spec.PipelineSpec;
import dev.tract.workflows.spec.SpecParser;
import io.temporal.activity.Activity;
import io.temporal.activity.ActivityExecutionContext;
import io.temporal.failure.ApplicationFailure;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The shard activities: CoT self-generation and evaluation of a range of examples. Each writes one file under
 * {@code stages/<kind>/<cache key>/} and a {@code _SUCCESS} marker last; a marker found means the stored result is
 * returned, and a retried shard rewrites the same file (sampling is seeded per example), so shards are idempotent.
 */
final class ShardActivities {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final ActivityEnvironment env;
    private final Materializer materializer;
    private final VerifiedModels models;

    /** Digests of local data files this worker checked, by path, size and modification time. */
    private final java.util.Map<String, String> dataDigests = new java.util.concurrent.ConcurrentHashMap<>();
    /** Models loaded once per worker for the shards that follow (see ModelPool). */
    private final ModelPool pool = ModelPool.fromEnv();
    /** The last few datasets parsed, by file and version: shards of one stage read their file once per worker. */
    private final java.util.Map<String, List<JudgeExample>> parsed = java.util.Collections.synchronizedMap(
            new java.util.LinkedHashMap<>(4, 0.75f, true) {
                @Override
                protected boolean removeEldestEntry(java.util.Map.Entry<String, List<JudgeExample>> eldest) {
                    return size() > 2;
                }
            });

    /**
     * Examples [from, to) of a dataset, checked against its content digest (once per local file and version: a worker
     * running many shards of one dataset digests it once). A dataset that is not what its digest says is refused,
     * naming it.
     */
    private List<JudgeExample> verifiedData(String uri, String digest, int from, int to, ArtifactStore store)
            throws IOException {
        Path file = materializer.file(uri, store);
        String stamp = file.toAbsolutePath() + "|" + Files.size(file) + "|" + Files.getLastModifiedTime(file)
                .toMillis();
        List<JudgeExample> all = parsed.get(stamp);
        if (all == null) {
            // validated when the pipeline prepared it; judged data may lack gold scores
            all = List.copyOf(Datasets.load(file, true));
            parsed.put(stamp, all);
        }
        List<JudgeExample> part = all.subList(from, Math.min(all.size(), to));
        if (digest == null) {
            return part;
        }
        List<JudgeExample> whole = all;
        String actual = dataDigests.computeIfAbsent(stamp, k -> CanonicalJson.digest(whole));
        if (!actual.equals(digest)) {
            throw new CorruptArtifactException(uri + ": the data's digest " + actual + " does not match the "
                    + "recorded " + digest);
        }
        return part;
    }

    /** Sampling as TRACT prescribes for CoT self-generation and CoT-RAIL scoring, seeded per example. */
    private static GenerationConfig sampling(PipelineSpec.Generation g, long seed) {
        return new GenerationConfig(g.maxNewTokens(), true, g.temperature(), 0, g.topP(), g.repetitionPenalty(),
                List.of(Targets.RESULT), seed, true);
    }

    /** Models loaded by this worker's shards so far (a reused model loads none). */
    int modelLoads() {
        return pool.loads();
    }

    ShardActivities(ActivityEnvironment env, Materializer materializer, VerifiedModels models) {
        this.env = env;
        this.materializer = materializer;
        this.models = models;
    }

    Values.ShardOutcome generateCots(Values.CotShardRequest req) throws Exception {
        return shard("cots", req.cacheKey(), req.shard(), req.artifactRoot(), (store, out) -> {
            List<JudgeExample> part = verifiedData(req.dataUri(), req.dataDigest(), req.from(), req.to(), store);
            PipelineSpec.Generation g = req.generation();
            GenerationConfig sampling = sampling(g, req.seed());
            List<JudgeExample> generated = new ArrayList<>();
            int wellFormed = 0;
            int checked = 0;
            int correct = 0;
            int cut = 0;
            Path modelDir = models.verified(req.modelUri(), req.modelDigest(), store);
            try (ModelPool.Lease m = pool.acquire(req.modelDigest(), modelDir, env.device())) {
                ExampleEncoder encoder = m.encoder(req.template(), req.maxLength());
                Generator generator = new Generator(m.model(), m.tokenizer());
                int batch = Math.max(1, env.generationBatch());
                // batch rows generate continuously over chunks of several batches: a finished CoT's row takes
                // the next prompt at once (the texts are those each prompt gets alone with its seed)
                int chunkSize = batch * dev.tract.judge.score.Scorer.CHUNK_BATCHES;
                for (int i = 0; i < part.size(); i += chunkSize) {
                    List<JudgeExample> chunk = part.subList(i, Math.min(part.size(), i + chunkSize));
                    List<long[]> prompts = new ArrayList<>();
                    long[] seeds = new long[chunk.size()];
                    for (int j = 0; j < chunk.size(); j++) {
                        ExampleEncoder.Prompt p = encoder.prompt(chunk.get(j), g.maxNewTokens()
                                + SpecParser.GENERATION_SUFFIX);
                        prompts.add(p.ids());
                        cut += p.cut() ? 1 : 0;
                        seeds[j] = req.seed() * 1_000_003L + req.from() + i + j;
                    }
                    List<Generation> gens = generator.generateContinuous(prompts, sampling, seeds, batch, null);
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
        });
    }

    Values.ShardOutcome evaluateShard(Values.EvalShardRequest req) throws Exception {
        return shard("eval", req.cacheKey(), req.shard(), req.artifactRoot(), (store, out) -> {
            List<JudgeExample> part = verifiedData(req.dataUri(), req.dataDigest(), req.from(), req.to(), store);
            GenerationConfig sampling = sampling(req.generation(), req.seed());
            ScoreMode mode = ScoreMode.named(req.mode());
            ScoreConfig cfg = new ScoreConfig(mode, req.nCot(), sampling, false, env.generationBatch(), req.seed());
            List<ScoredExample> scored;
            Path modelDir = models.verified(req.modelUri(), req.modelDigest(), store);
            try (ModelPool.Lease m = pool.acquire(req.modelDigest(), modelDir, env.device())) {
                scored = new Scorer(m.model(), m.tokenizer(), m.encoder(req.template(), req.maxLength()))
                        .score(part, cfg, req.from(),
                        done -> out.progress());
            }
            StringBuilder sb = new StringBuilder();
            for (ScoredExample s : scored) {
                sb.append(JSON.writeValueAsString(s.toJson())).append('\n');
            }
            Files.writeString(out.file(), sb, StandardCharsets.UTF_8);
            // the quality of the feedbacks is counted once, from the joined predictions (aggregateEval)
            return new ShardResult(scored.size(), null);
        });
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
                        GpuActivitiesImpl.WORKER_SHUTDOWN);
            }
        }
    }

    private Values.ShardOutcome shard(String kind, String key, int shard, String root, ShardBody body)
            throws Exception {
        GpuActivitiesImpl.refuseIfShuttingDown(env);
        ActivityExecutionContext ctx = Activity.getExecutionContext();
        try (Heartbeats beats = new Heartbeats(ctx, GpuActivitiesImpl.HEARTBEAT_INTERVAL, new AtomicBoolean(), shard);
             ArtifactStore store = env.store(root)) {
            String base = "stages/" + kind + "/" + key;
            String file = base + "/" + (kind.equals("cots") ? "cots.jsonl" : "predictions.jsonl");
            Optional<String> done = store.getString(base + "/" + GpuActivitiesImpl.SUCCESS);
            if (done.isPresent()) {
                ObjectNode o = (ObjectNode) JSON.readTree(done.get());
                Values.CotQuality quality = o.hasNonNull("quality")
                        ? JSON.treeToValue(o.get("quality"), Values.CotQuality.class) : null;
                return new Values.ShardOutcome(store.uri(file), shard, o.get("count").asInt(), 0, true, quality);
            }
            long start = System.nanoTime();
            Path local = env.workDir().resolve(kind).resolve(key + ".jsonl");
            Files.createDirectories(local.getParent());
            env.faults().duringShard(kind, shard, ctx.getInfo().getAttempt());
            ShardResult result = body.run(store, new ShardOutput(local, beats, env.shuttingDown()));
            double seconds = (System.nanoTime() - start) / 1e9;
            store.putFile(file, local);
            ObjectNode marker = JSON.createObjectNode().put("count", result.count()).put("seconds", seconds);
            marker.set("quality", JSON.valueToTree(result.quality()));
            store.putString(base + "/" + GpuActivitiesImpl.SUCCESS, marker.toString());
            return new Values.ShardOutcome(store.uri(file), shard, result.count(), seconds, false, result.quality());
        }
    }
}
