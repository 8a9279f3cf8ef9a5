package dev.tract.activities;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tract.activities.artifacts.ArtifactStore;
import dev.tract.activities.artifacts.ArtifactStores;
import dev.tract.activities.artifacts.Digests;
import dev.tract.judge.JudgeInputException;
import dev.tract.judge.data.CanonicalJson;
import dev.tract.judge.data.Datasets;
import dev.tract.judge.data.JudgeExample;
import dev.tract.judge.metrics.Correlations;
import dev.tract.judge.model.Checkpoints;
import dev.tract.judge.model.LlamaConfig;
import dev.tract.judge.model.ModelInit;
import dev.tract.judge.model.Preset;
import dev.tract.judge.tokenizer.JudgeTokenizer;
import dev.tract.judge.tokenizer.ScoreTokens;
import dev.tract.workflows.CacheKeys;
import dev.tract.workflows.CpuActivities;
import dev.tract.workflows.Values;
import dev.tract.workflows.spec.Method;
import dev.tract.workflows.spec.PipelineSpec;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/** Data preparation, evaluation metrics and the report: no model runs here. */
public class CpuActivitiesImpl implements CpuActivities {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final ObjectMapper PRETTY = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    private final ActivityEnvironment env;
    private final Materializer materializer;

    public CpuActivitiesImpl(ActivityEnvironment env) {
        this.env = env;
        this.materializer = new Materializer(env.workDir());
    }

    @Override
    public Values.PreparedData prepareData(Values.PipelineInput input) {
        return Failures.run(() -> prepare(input));
    }

    private Values.PreparedData prepare(Values.PipelineInput input) throws Exception {
        long start = System.nanoTime();
        PipelineSpec spec = input.spec();
        Method method = spec.methodEnum();
        try (ArtifactStore store = ArtifactStores.open(spec.artifactRoot())) {
            List<JudgeExample> train = Datasets.load(materializer.file(spec.trainData(), store));
            boolean needsFeedback = !method.stage1Objective().equals("raft")
                    && !method.stage1Objective().equals("ce-score");
            if (needsFeedback) {
                for (JudgeExample e : train) {
                    if (e.feedbacks().isEmpty()) {
                        throw new JudgeInputException(spec.trainData() + ": record " + e.id(), "feedbacks",
                                "method " + method.id() + " trains stage 1 on annotated feedback and this record "
                                        + "has none");
                    }
                }
            }
            String trainDigest = CanonicalJson.digest(train);
            String trainUri = storeData(store, train, trainDigest);
            List<Values.PreparedEvalSet> sets = new ArrayList<>();
            for (PipelineSpec.EvalSet set : spec.evalSets()) {
                List<JudgeExample> examples;
                try {
                    examples = Datasets.load(materializer.file(set.data(), store));
                } catch (JudgeInputException e) {
                    throw new JudgeInputException("eval set '" + set.name() + "'", e.field(), e.getMessage());
                }
                String digest = CanonicalJson.digest(examples);
                sets.add(new Values.PreparedEvalSet(set.name(), storeData(store, examples, digest), digest,
                        examples.size()));
            }
            String[] model = seedModel(store, spec.seedModel());
            return new Values.PreparedData(trainUri, trainDigest, train.size(), sets, model[0], model[1],
                    (System.nanoTime() - start) / 1e9);
        }
    }

    private String storeData(ArtifactStore store, List<JudgeExample> examples, String digest) throws IOException {
        String key = "data/" + digest + "/data.jsonl";
        if (!store.exists(key)) {
            Path tmp = env.workDir().resolve("prepare").resolve(digest + ".jsonl");
            CanonicalJson.write(tmp, examples);
            store.putFile(key, tmp);
            Files.deleteIfExists(tmp);
        }
        return store.uri(key);
    }

    /** [uri, digest] of the seed model, made and stored first for a preset. */
    private String[] seedModel(ArtifactStore store, PipelineSpec.SeedModel seed) throws IOException {
        if (seed.preset() != null) {
            String prefix = "models/preset-" + seed.preset() + "-seed" + seed.initSeed();
            String weights = prefix + "/" + Checkpoints.WEIGHTS;
            Path local = env.workDir().resolve(prefix);
            if (!store.exists(weights)) {
                ModelInit.init(Preset.named(seed.preset()), local, seed.initSeed(), null);
                store.putDirectory(prefix, local);
            } else if (!Files.isRegularFile(local.resolve(Checkpoints.WEIGHTS))) {
                store.getDirectory(prefix, local);
            }
            return new String[] {store.uri(prefix), Digests.sha256(local.resolve(Checkpoints.WEIGHTS))};
        }
        if (seed.path() != null) {
            Path dir = Path.of(seed.path());
            if (!Files.isDirectory(dir)) {
                throw new JudgeInputException(seed.path(), "seed_model.path", "model directory not found");
            }
            LlamaConfig.read(dir.resolve(LlamaConfig.FILE));
            try (JudgeTokenizer tok = JudgeTokenizer.load(dir)) {
                ScoreTokens.detect(tok);
            }
            return new String[] {dir.toUri().toString(), modelDigest(dir)};
        }
        return new String[] {seed.uri(), CacheKeys.of("model-uri", seed.uri())};
    }

    /**
     * Identity of a model folder without reading every byte of a large checkpoint: config, tokenizer, and for each
     * weight file its name, size and the sha256 of its first and last MiB.
     */
    static String modelDigest(Path dir) throws IOException {
        MessageDigest md = Digests.sha();
        try (Stream<Path> files = Files.list(dir)) {
            for (Path f : files.filter(Files::isRegularFile).sorted().toList()) {
                String name = f.getFileName().toString();
                md.update(name.getBytes(StandardCharsets.UTF_8));
                if (name.endsWith(".json")) {
                    md.update(Files.readAllBytes(f));
                } else if (name.endsWith(".safetensors")) {
                    long size = Files.size(f);
                    md.update(Long.toString(size).getBytes(StandardCharsets.UTF_8));
                    try (var ch = java.nio.channels.FileChannel.open(f)) {
                        for (long pos : new long[] {0, Math.max(0, size - (1 << 20))}) {
                            var buf = java.nio.ByteBuffer.allocate((int) Math.min(size, 1 << 20));
                            ch.read(buf, pos);
                            md.update(buf.flip());
                        }
                    }
                }
            }
        }
        return HexFormat.of().formatHex(md.digest());
    }

    @Override
    public Values.EvalOutcome aggregateEval(Values.EvalAggregateRequest req) {
        return Failures.run(() -> {
            long start = System.nanoTime();
            try (ArtifactStore store = ArtifactStores.open(req.artifactRoot())) {
                StringBuilder all = new StringBuilder();
                List<Double> gold = new ArrayList<>();
                List<Double> pred = new ArrayList<>();
                for (String uri : req.shardUris()) {
                    String key = store.keyOf(uri).orElseThrow(() -> new IllegalStateException(uri + " not in store"));
                    String text = store.getString(key).orElseThrow(() -> new IllegalStateException(uri + " missing"));
                    for (String line : text.split("\n")) {
                        if (line.isBlank()) {
                            continue;
                        }
                        JsonNode n = JSON.readTree(line);
                        gold.add(n.get("gold").asDouble());
                        pred.add(n.get("prediction").isNull() ? null : n.get("prediction").asDouble());
                        all.append(line).append('\n');
                    }
                }
                Correlations.Report r = Correlations.compute(gold, pred, Correlations.DEFAULT_RESAMPLES, req.seed());
                String base = "pipelines/" + req.pipelineId() + "/eval/" + req.evalSet();
                store.putString(base + "/predictions.jsonl", all.toString());
                Map<String, List<Double>> ci = new LinkedHashMap<>();
                r.ci().forEach((k, v) -> ci.put(k, java.util.Arrays.asList(nan(v.low()), nan(v.high()))));
                Values.EvalOutcome outcome = new Values.EvalOutcome(req.evalSet(), store.uri(base + "/predictions.jsonl"),
                        store.uri(base + "/metrics.json"), r.n(), r.nDropped(), nan(r.pearson()), nan(r.spearman()),
                        nan(r.kendall()), nan(r.rmse()), ci, (System.nanoTime() - start) / 1e9);
                store.putString(base + "/metrics.json", PRETTY.writeValueAsString(outcome));
                return outcome;
            }
        });
    }

    private static Double nan(double v) {
        return Double.isNaN(v) ? null : v;
    }

    @Override
    public Values.PipelineResult report(Values.ReportRequest req) {
        return Failures.run(() -> {
            try (ArtifactStore store = ArtifactStores.open(req.spec().artifactRoot())) {
                double compute = req.stages().stream().mapToDouble(Values.StageSummary::computeSeconds).sum();
                String base = "pipelines/" + req.pipelineId();
                Values.PipelineResult result = new Values.PipelineResult(req.pipelineId(), req.state(),
                        store.uri(base + "/report.json"), req.stages(), req.evals(), req.wallSeconds(), compute);
                ObjectNode report = PRETTY.valueToTree(result);
                report.put("spec_digest", req.specDigest());
                report.set("spec", PRETTY.valueToTree(req.spec()));
                if (req.data() != null) {
                    report.set("data", PRETTY.valueToTree(req.data()));
                }
                report.put("orchestration_seconds", Math.max(0, req.wallSeconds() - compute));
                store.putString(base + "/report.json", PRETTY.writeValueAsString(report));
                store.putString(base + "/report.html", ReportHtml.render(result));
                return result;
            }
        });
    }

    static String read(InputStream in) throws IOException {
        return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
}
