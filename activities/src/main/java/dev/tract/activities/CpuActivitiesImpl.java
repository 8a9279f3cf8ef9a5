package dev.tract.activities;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tract.activities.artifacts.ArtifactStore;
import dev.tract.activities.artifacts.ArtifactStores;
import dev.tract.activities.artifacts.Digests;
import dev.tract.activities.tracking.SafeTracker;
import dev.tract.activities.tracking.SpecParams;
import dev.tract.activities.tracking.Tracker;
import dev.tract.activities.tracking.Trackers;
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
import dev.tract.judge.train.Checkpointer;
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
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Data preparation, evaluation metrics and the report: no model runs here. */
public class CpuActivitiesImpl implements CpuActivities {
    /** Examples shown in the report with the smallest and with the largest errors, each. */
    private static final int SAMPLES = 3;
    private static final Logger LOG = LoggerFactory.getLogger(CpuActivitiesImpl.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final ObjectMapper PRETTY = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    private final ActivityEnvironment env;
    private final Materializer materializer;

    public CpuActivitiesImpl(ActivityEnvironment env) {
        this.env = env;
        this.materializer = new Materializer(env.workDir(), env.destinations());
    }

    @Override
    public Values.PreparedData prepareData(Values.PipelineInput input) {
        return Failures.heartbeating(() -> prepare(input));
    }

    private Values.PreparedData prepare(Values.PipelineInput input) throws Exception {
        long start = System.nanoTime();
        PipelineSpec spec = input.spec();
        Method method = spec.methodEnum();
        try (ArtifactStore store = env.store(spec.artifactRoot())) {
            // method judge trains nothing: no training data
            List<JudgeExample> train = method.trains() ? Datasets.load(materializer.file(spec.trainData(), store))
                    : List.of();
            boolean needsFeedback = method.trains() && !method.stage1Objective().equals("raft")
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
            String trainDigest = method.trains() ? CanonicalJson.digest(train) : null;
            String trainUri = method.trains() ? storeData(store, train, trainDigest) : null;
            List<Values.PreparedEvalSet> sets = new ArrayList<>();
            for (PipelineSpec.EvalSet set : spec.evalSets()) {
                List<JudgeExample> examples;
                try {
                    // data to be judged may lack gold scores (then it gets predictions but no correlations)
                    examples = Datasets.load(materializer.file(set.data(), store), !method.trains());
                } catch (JudgeInputException e) {
                    throw new JudgeInputException("eval set '" + set.name() + "'", e.field(), e.getMessage());
                }
                String digest = CanonicalJson.digest(examples);
                sets.add(new Values.PreparedEvalSet(set.name(), storeData(store, examples, digest), digest,
                        examples.size()));
            }
            String[] model = seedModel(store, spec, input.pipelineId());
            return new Values.PreparedData(trainUri, trainDigest, train.size(), sets, model[0], model[1],
                    (System.nanoTime() - start) / 1e9);
        }
    }

    private String storeData(ArtifactStore store, List<JudgeExample> examples, String digest) throws IOException {
        String key = "data/" + digest + "/data.jsonl";
        if (!store.exists(key)) {
            // written under a name of its own: two pipelines preparing the same data at once each store a whole file
            Path tmp = Digests.aside(env.workDir().resolve("prepare").resolve(digest + ".jsonl"));
            try {
                CanonicalJson.write(tmp, examples);
                store.putFile(key, tmp);
            } finally {
                Files.deleteIfExists(tmp);
            }
        }
        return store.uri(key);
    }

    /**
     * [uri, digest] of the seed model, made and stored first for a preset. A preset's folder is named by the preset,
     * its seed and a digest of its definition and the method version, so a change to a preset's architecture or
     * initialisation makes a new seed model instead of reusing one made before.
     */
    private String[] seedModel(ArtifactStore store, PipelineSpec spec, String pipelineId) throws IOException {
        PipelineSpec.SeedModel seed = spec.seedModel();
        Path digests = env.workDir().resolve("digests");
        if (seed.preset() != null) {
            Preset preset = Preset.named(seed.preset());
            String prefix = "models/preset-" + seed.preset() + "-seed" + seed.initSeed() + "-"
                    + CacheKeys.of("preset", preset.definition()).substring(0, 12);
            String weights = prefix + "/" + Checkpoints.WEIGHTS;
            Path local = env.workDir().resolve(prefix);
            if (!Files.isRegularFile(local.resolve(Checkpoints.WEIGHTS))) {
                // made (or fetched) aside and moved into place whole: two pipelines preparing at once on one
                // worker never write into, or digest, a half-made folder
                Path tmp = local.resolveSibling(local.getFileName() + ".tmp-" + System.nanoTime());
                if (store.exists(weights)) {
                    store.getDirectory(prefix, tmp);
                } else {
                    ModelInit.init(preset, tmp, seed.initSeed(), null);
                }
                try {
                    Files.move(tmp, local, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
                } catch (IOException e) {
                    Checkpointer.deleteTree(tmp); // another activity put it in place first
                }
            }
            if (!store.exists(weights)) {
                store.putDirectory(prefix, local);
            }
            return new String[] {store.uri(prefix), ModelDigests.of(local, digests)};
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
            return new String[] {dir.toUri().toString(), ModelDigests.of(dir, digests)};
        }
        String uri = seed.uri().startsWith("models:/") ? registeredSource(store, spec, pipelineId) : seed.uri();
        return new String[] {uri, ModelDigests.of(materializer.directory(uri, store), digests)};
    }

    /** The source URI a models:/ seed model names, from the pipeline's MLflow registry. */
    private String registeredSource(ArtifactStore store, PipelineSpec spec, String pipelineId) {
        String given = spec.seedModel().uri();
        java.util.regex.Matcher m = dev.tract.workflows.spec.SpecParser.REGISTERED_MODEL.matcher(given);
        if (!m.matches()) {
            throw new JudgeInputException(given, "seed_model.uri", "must be models:/<name>@<alias> or "
                    + "models:/<name>/<version>");
        }
        try (SafeTracker tracker = Trackers.open(spec.tracking(), pipelineId, store, env.destinations())) {
            String source = tracker.registeredModelSource(m.group(1), m.group(2), m.group(3));
            LOG.info("{} is {}", given, source);
            return source;
        } catch (UnsupportedOperationException e) {
            throw new JudgeInputException(given, "seed_model.uri", e.getMessage());
        } catch (Exception e) {
            throw new JudgeInputException(given, "seed_model.uri", "the model registry did not resolve it: "
                    + e.getMessage(), e);
        }
    }

    @Override
    public String writeManifestPart(Values.ManifestPart part) {
        return Failures.heartbeating(() -> {
            try (ArtifactStore store = env.store(part.artifactRoot())) {
                return Manifests.write(store, part);
            }
        });
    }

    @Override
    public Values.EvalOutcome aggregateEval(Values.EvalAggregateRequest req) {
        return Failures.heartbeating(() -> {
            long start = System.nanoTime();
            try (ArtifactStore store = env.store(req.artifactRoot())) {
                StringBuilder all = new StringBuilder();
                List<Double> gold = new ArrayList<>();
                List<Double> pred = new ArrayList<>();
                Values.CotQuality quality = Values.CotQuality.NONE;
                for (String uri : Manifests.expand(store, req.shardUris())) {
                    String key = store.keyOf(uri).orElseThrow(() -> new IllegalStateException(uri + " not in store"));
                    String text = store.getString(key).orElseThrow(() -> new IllegalStateException(uri + " missing"));
                    for (String line : text.split("\n")) {
                        if (line.isBlank()) {
                            continue;
                        }
                        JsonNode n = JSON.readTree(line);
                        gold.add(n.get("gold").isNull() ? Double.NaN : n.get("gold").asDouble());
                        pred.add(n.get("prediction").isNull() ? null : n.get("prediction").asDouble());
                        quality = quality.plus(CotQualities.of(n));
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
                        nan(r.kendall()), nan(r.rmse()), ci, (System.nanoTime() - start) / 1e9, quality);
                store.putString(base + "/metrics.json", PRETTY.writeValueAsString(outcome));
                return outcome;
            }
        });
    }

    private static Double nan(double v) {
        return Double.isNaN(v) ? null : v;
    }

    @Override
    public Values.TrackingRuns startTracking(Values.TrackingRequest req) {
        return Failures.heartbeating(() -> {
            try (ArtifactStore store = env.store(req.spec().artifactRoot());
                 SafeTracker tracker = Trackers.open(req.spec().tracking(), req.pipelineId(),
                         store, env.destinations())) {
                Map<String, String> tags = new LinkedHashMap<>();
                tags.put("temporal.workflowId", req.pipelineId());
                tags.put("tract.method", req.spec().method());
                tags.put("tract.specDigest", req.specDigest());
                if (req.data().trainDigest() != null) {
                    tags.put("data.digest", req.data().trainDigest());
                }
                if (req.submitter() != null) {
                    tags.put("tract.submitter", req.submitter());
                }
                String parent = tracker.openRun(req.pipelineId(), req.pipelineId(), null, tags);
                tracker.logParams(parent, SpecParams.of(req.spec()));
                List<Tracker.DatasetInput> inputs = new ArrayList<>();
                if (req.data().trainUri() != null) {
                    inputs.add(new Tracker.DatasetInput("train", req.data().trainDigest(), req.data().trainUri(),
                            "training"));
                }
                req.data().evalSets().forEach(e -> inputs.add(new Tracker.DatasetInput(e.name(), e.digest(), e.uri(),
                        "evaluation")));
                tracker.logInputs(parent, inputs);
                Map<String, String> runs = new LinkedHashMap<>();
                Map<String, String> urls = new LinkedHashMap<>();
                if (parent != null) {
                    urls.put("pipeline", tracker.runUrl(parent));
                }
                for (String stage : req.stages()) {
                    Map<String, String> t = new LinkedHashMap<>();
                    t.put("temporal.workflowId", req.pipelineId());
                    t.put("tract.stage", stage);
                    String id = tracker.openRun(req.pipelineId() + "/" + stage, stage, parent, t);
                    runs.put(stage, id);
                    if (id != null) {
                        urls.put(stage, tracker.runUrl(id));
                    }
                }
                return new Values.TrackingRuns(tracker.kind(), parent, runs, urls, tracker.failures());
            }
        });
    }

    @Override
    public Values.PipelineResult report(Values.ReportRequest req) {
        return Failures.heartbeating(() -> {
            try (ArtifactStore store = env.store(req.spec().artifactRoot());
                 SafeTracker tracker = Trackers.open(req.spec().tracking(), req.pipelineId(),
                         store, env.destinations())) {
                Values.TrackingRuns runs = req.tracking() != null ? req.tracking()
                        : new Values.TrackingRuns("none", null, Map.of(), Map.of(), 0);
                Path dir = env.workDir().resolve("report").resolve(req.pipelineId());
                Files.createDirectories(dir);
                String base = "pipelines/" + req.pipelineId();
                ObjectNode figures = PRETTY.createObjectNode();
                List<String> scatterFiles = new ArrayList<>();
                Map<String, List<ReportWriter.Sample>> samples = new LinkedHashMap<>();
                for (Values.EvalOutcome e : req.evals()) {
                    String predictions = store.keyOf(e.predictionsUri()).flatMap(k -> {
                        try {
                            return store.getString(k);
                        } catch (IOException x) {
                            throw new java.io.UncheckedIOException(x);
                        }
                    }).orElse("");
                    ReportWriter.Scatter scatter = ReportWriter.Scatter.of(predictions);
                    String file = "eval/" + e.evalSet() + "/scatter.png";
                    ReportWriter.scatterPng(scatter, e.evalSet() + String.format(" (Pearson %s)",
                            e.pearson() == null ? "-" : String.format("%.3f", e.pearson())), dir.resolve(file));
                    store.putFile(base + "/" + file, dir.resolve(file));
                    scatterFiles.add(file);
                    figures.with("scatter").set(e.evalSet(), scatter.toJson());
                    List<ReportWriter.Sample> shown = ReportWriter.samples(predictions, annotated(store, req.data(),
                            e.evalSet()), SAMPLES);
                    samples.put(e.evalSet(), shown);
                    shown.forEach(x -> figures.with("samples").withArray(e.evalSet()).add(x.toJson()));
                    String evalRun = runs.runIds().get("eval/" + e.evalSet());
                    logEval(tracker, evalRun, e, "eval/" + e.evalSet() + "/", 0);
                    logEval(tracker, runs.parentRunId(), e, "eval/" + e.evalSet() + "/", 0);
                    tracker.logArtifact(evalRun, "scatter.png", dir.resolve(file));
                    Path pred = dir.resolve("eval/" + e.evalSet() + "/predictions.jsonl");
                    Files.writeString(pred, predictions);
                    tracker.logArtifact(evalRun, "predictions.jsonl", pred);
                }
                Map<String, String> lossFiles = new LinkedHashMap<>();
                for (Values.StageSummary s : req.stages()) {
                    if (s.metricsUri() != null) {
                        String metrics = store.keyOf(s.metricsUri()).map(k -> {
                            try {
                                return store.getString(k).orElse("");
                            } catch (IOException x) {
                                throw new java.io.UncheckedIOException(x);
                            }
                        }).orElse("");
                        var curves = ReportWriter.curves(metrics);
                        if (!curves.isEmpty()) {
                            String file = "loss-" + s.name() + ".png";
                            ReportWriter.lossPng(curves, s.name() + " (" + s.kind() + ")", dir.resolve(file));
                            store.putFile(base + "/" + file, dir.resolve(file));
                            lossFiles.put(s.name(), file);
                            figures.with("loss").set(s.name(), ReportWriter.curvesJson(curves));
                        }
                    }
                    String stageRun = runs.runIds().get(s.name());
                    logQuality(tracker, stageRun, s.quality(), s.name() + "/");
                    logQuality(tracker, runs.parentRunId(), s.quality(), s.name() + "/");
                    if (stageRun != null) {
                        tracker.metric(stageRun, "stage/wall_seconds", s.wallSeconds(), 0);
                        tracker.metric(stageRun, "stage/compute_seconds", s.computeSeconds(), 0);
                        tracker.setTags(stageRun, Map.of("tract.cached", String.valueOf(s.cached())));
                    }
                    tracker.metric(runs.parentRunId(), "stage/" + s.name() + "/wall_seconds", s.wallSeconds(), 0);
                }
                String version = null;
                boolean completed = "COMPLETED".equals(req.state());
                if (completed && req.spec().tracking() != null && req.spec().tracking().registeredModel() != null
                        && req.judgeUri() != null && runs.parentRunId() != null) {
                    version = registerJudge(store, tracker, runs.parentRunId(), req, dir);
                }
                double compute = req.stages().stream().mapToDouble(Values.StageSummary::computeSeconds).sum();
                int failures = runs.failures() + req.stages().stream()
                        .mapToInt(Values.StageSummary::trackingFailures).sum();
                Values.PipelineResult result = new Values.PipelineResult(req.pipelineId(), req.state(),
                        store.uri(base + "/report.json"), req.stages(), req.evals(), req.wallSeconds(), compute,
                        runs.urls(), failures + tracker.failures(), version);
                ObjectNode report = PRETTY.valueToTree(result);
                report.put("spec_digest", req.specDigest());
                if (req.failure() != null) {
                    report.put("failure", req.failure());
                }
                if (req.history() != null) {
                    report.set("history", PRETTY.valueToTree(req.history()));
                    tracker.metric(runs.parentRunId(), "history/events", req.history().events(), 0);
                    tracker.metric(runs.parentRunId(), "history/largest_events", req.history().largestEvents(), 0);
                    tracker.metric(runs.parentRunId(), "history/runs_continued", req.history().runsContinued(), 0);
                }
                report.put("orchestration_seconds", Math.max(0, req.wallSeconds() - compute));
                report.put("tracking_kind", runs.kind());
                report.set("figures", figures);
                report.set("spec", PRETTY.valueToTree(req.spec()));
                if (req.data() != null) {
                    report.set("data", PRETTY.valueToTree(req.data()));
                }
                Path json = dir.resolve("report.json");
                Path html = dir.resolve("report.html");
                Files.writeString(json, PRETTY.writeValueAsString(report));
                Files.writeString(html, ReportWriter.html(result, scatterFiles, lossFiles, samples));
                store.putFile(base + "/report.json", json);
                store.putFile(base + "/report.html", html);
                tracker.logArtifact(runs.parentRunId(), "report/report.json", json);
                tracker.logArtifact(runs.parentRunId(), "report/report.html", html);
                for (String f : scatterFiles) {
                    tracker.logArtifact(runs.parentRunId(), "report/" + f, dir.resolve(f));
                }
                for (String f : lossFiles.values()) {
                    tracker.logArtifact(runs.parentRunId(), "report/" + f, dir.resolve(f));
                }
                String status = completed ? "FINISHED" : "CANCELLED".equals(req.state()) ? "KILLED" : "FAILED";
                for (String run : runs.runIds().values()) {
                    tracker.endRun(run, status);
                }
                tracker.endRun(runs.parentRunId(), status);
                return result;
            }
        });
    }

    /** The first annotated feedback of each example of an evaluation set, by id (empty when unavailable). */
    private Map<String, String> annotated(ArtifactStore store, Values.PreparedData data, String set) {
        Map<String, String> out = new LinkedHashMap<>();
        if (data == null) {
            return out;
        }
        for (Values.PreparedEvalSet s : data.evalSets()) {
            if (s.name().equals(set)) {
                try {
                    Datasets.load(materializer.file(s.uri(), store)).forEach(e -> out.put(e.id(), e.feedback()));
                } catch (IOException | RuntimeException e) {
                    LOG.warn("annotated feedbacks of {} unavailable for the report: {}", set, e.getMessage());
                }
            }
        }
        return out;
    }

    private static void logEval(SafeTracker tracker, String runId, Values.EvalOutcome e, String prefix, long step) {
        if (runId == null) {
            return;
        }
        tracker.metric(runId, prefix + "n", e.n(), step);
        tracker.metric(runId, prefix + "n_dropped", e.nDropped(), step);
        Map<String, Double> values = new LinkedHashMap<>();
        values.put("pearson", e.pearson());
        values.put("spearman", e.spearman());
        values.put("kendall", e.kendall());
        values.put("rmse", e.rmse());
        Values.CotQuality q = e.quality();
        if (q != null) {
            values.put("cot_well_formed", q.wellFormedShare());
            values.put("cot_correct", q.correctShare());
            tracker.metric(runId, prefix + "prompts_cut", q.promptsCut(), step);
        }
        values.forEach((k, v) -> {
            if (v != null) {
                tracker.metric(runId, prefix + k, v, step);
            }
            List<Double> ci = e.ci().get(k);
            if (ci != null && ci.get(0) != null) {
                tracker.metric(runId, prefix + k + "_ci_low", ci.get(0), step);
                tracker.metric(runId, prefix + k + "_ci_high", ci.get(1), step);
            }
        });
    }

    /** {@code <prefix>well_formed}, {@code correct} and {@code prompts_cut} of a stage that generated feedbacks. */
    private static void logQuality(SafeTracker tracker, String runId, Values.CotQuality q, String prefix) {
        if (runId == null || q == null || q.feedbacks() == 0) {
            return;
        }
        if (q.wellFormedShare() != null) {
            tracker.metric(runId, prefix + "well_formed", q.wellFormedShare(), 0);
        }
        if (q.correctShare() != null) {
            tracker.metric(runId, prefix + "correct", q.correctShare(), 0);
        }
        tracker.metric(runId, prefix + "prompts_cut", q.promptsCut(), 0);
    }

    /** Logs the final judge as artifacts of the pipeline run and registers it, pointing the alias at it. */
    private String registerJudge(ArtifactStore store, SafeTracker tracker, String parentRun, Values.ReportRequest req,
                                 Path dir) throws IOException {
        Path model = dir.resolve("judge");
        String key = store.keyOf(req.judgeUri()).orElse(null);
        String source = req.judgeUri();
        if (key != null && "mlflow".equals(tracker.kind())) {
            store.getDirectory(key, model);
            try (Stream<Path> files = Files.walk(model)) {
                for (Path f : files.filter(Files::isRegularFile).toList()) {
                    tracker.logArtifact(parentRun, "judge/" + model.relativize(f).toString().replace('\\', '/'), f);
                }
            }
            source = "runs:/" + parentRun + "/judge";
        }
        return tracker.registerModel(req.spec().tracking().registeredModel(), source, parentRun,
                req.spec().tracking().alias());
    }

    static String read(InputStream in) throws IOException {
        return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
}
