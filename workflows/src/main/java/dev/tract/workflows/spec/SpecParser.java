package dev.tract.workflows.spec;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.MapperFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Reads a pipeline spec from YAML or JSON, fills in the defaults and validates every field, reporting all problems
 * at once with their field paths. Unknown keys are errors (a typo should not silently fall back to a default).
 * Relative file paths are resolved against a base directory.
 */
public final class SpecParser {
    /** Names that become folder names and S3 key segments. */
    public static final Pattern SAFE_NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,99}");
    private static final YAMLMapper YAML = new YAMLMapper();
    private static final ObjectMapper CANONICAL = JsonMapper.builder()
            .enable(MapperFeature.SORT_PROPERTIES_ALPHABETICALLY)
            .enable(SerializationFeature.ORDER_MAP_ENTRIES_BY_KEYS).build();
    private static final List<String> PRESETS = List.of("tiny", "mini", "small");
    /** Tokens that generation reserves beyond max_new_tokens, for " So the overall score is" and the score. */
    public static final int GENERATION_SUFFIX = 32;
    /** The least room a generation prompt must have, in tokens. */
    public static final int MIN_PROMPT_TOKENS = 64;

    private final Path baseDir;
    private final String defaultArtifactRoot;
    private final Destinations destinations;
    private final List<SpecException.FieldError> errors = new ArrayList<>();

    private SpecParser(Path baseDir, String defaultArtifactRoot, Destinations destinations) {
        this.baseDir = baseDir;
        this.defaultArtifactRoot = defaultArtifactRoot;
        this.destinations = destinations;
    }

    /**
     * Parses a spec.
     *
     * @param baseDir relative paths in the spec are resolved against it
     * @param defaultArtifactRoot used when the spec names none
     * @throws SpecException listing every invalid field
     */
    public static PipelineSpec parse(String text, Path baseDir, String defaultArtifactRoot) {
        return parse(text, baseDir, defaultArtifactRoot, Destinations.unrestricted());
    }

    /**
     * Parses a spec and checks every location in it against the operator's destinations: data and seed models
     * inside the data roots, the artifact root inside the artifact roots, the tracking URI among the allowed
     * servers. A location outside is a field error like any other.
     */
    public static PipelineSpec parse(String text, Path baseDir, String defaultArtifactRoot,
                                     Destinations destinations) {
        JsonNode root = readTree(text);
        if (root == null || !root.isObject()) {
            throw new SpecException(List.of(new SpecException.FieldError("(document)", "expected a mapping of fields")));
        }
        SpecParser p = new SpecParser(baseDir, defaultArtifactRoot, destinations);
        PipelineSpec spec = p.spec((ObjectNode) root);
        if (!p.errors.isEmpty()) {
            throw new SpecException(p.errors);
        }
        return spec;
    }

    private static String firstLine(String s) {
        return s == null ? "" : s.split("\n")[0];
    }

    /** sha256 of the spec's canonical JSON: equal specs have equal digests. */
    public static String digest(PipelineSpec spec) {
        try {
            byte[] json = CANONICAL.writeValueAsBytes(spec);
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(json));
        } catch (NoSuchAlgorithmException | com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    private void error(String field, String message) {
        errors.add(new SpecException.FieldError(field, message));
    }

    private void unknownKeys(JsonNode node, String path, Set<String> known) {
        Iterator<String> it = node.fieldNames();
        while (it.hasNext()) {
            String k = it.next();
            if (!known.contains(k)) {
                error(path.isEmpty() ? k : path + "." + k, "unknown field (known: " + String.join(", ", known) + ")");
            }
        }
    }

    private PipelineSpec spec(ObjectNode n) {
        unknownKeys(n, "", Set.of("name", "seed_model", "train_data", "eval_sets", "method", "stage1", "stage2",
                "generation", "scoring", "n_cot", "checkpoint", "shard_size", "artifact_root", "task_queues", "seed",
                "template", "heartbeat_timeout_seconds", "tracking"));
        String name = string(n, "name", "pipeline");
        if (!SAFE_NAME.matcher(name).matches()) {
            error("name", "'" + name + "' must be letters, digits, '.', '_' or '-' (at most 100), starting with a "
                    + "letter or digit");
        }
        PipelineSpec.SeedModel seedModel = seedModel(n.get("seed_model"));
        String trainData = null;
        boolean judging = "judge".equals(n.path("method").asText());
        if (!n.hasNonNull("train_data")) {
            if (!judging) {
                error("train_data", "is required (a dataset file or URI with annotated feedback)");
            }
        } else if (judging) {
            error("train_data", "is not used by method judge, which trains nothing (remove it, or choose a "
                    + "training method)");
        } else {
            trainData = location(n, "train_data");
            data("train_data", n.get("train_data").asText(), trainData);
        }
        List<PipelineSpec.EvalSet> evalSets = evalSets(n.get("eval_sets"));
        String method = string(n, "method", "tract");
        if (Method.named(method) == null) {
            error("method", "'" + method + "' is not one of " + Method.ids());
        }
        PipelineSpec.Stage stage1 = stage(n.get("stage1"), "stage1");
        PipelineSpec.Stage stage2 = stage(n.get("stage2"), "stage2");
        PipelineSpec.Generation generation = generation(n.get("generation"));
        String scoring = string(n, "scoring", "rail");
        if (!scoring.equals("rail") && !scoring.equals("decode")) {
            error("scoring", "'" + scoring + "' is not rail or decode");
        }
        int nCot = integer(n, "n_cot", 1, 1, 64);
        PipelineSpec.Checkpointing checkpoint = checkpointing(n.get("checkpoint"));
        int shardSize = integer(n, "shard_size", 64, 1, 100_000);
        String givenRoot = string(n, "artifact_root", defaultArtifactRoot);
        String artifactRoot = artifactRoot(givenRoot);
        String rootProblem = destinations.artifactProblem(artifactRoot);
        if (rootProblem != null && errors.stream().noneMatch(e -> e.field().equals("artifact_root"))) {
            error("artifact_root", "'" + (rootProblem.startsWith("must not embed") ? "(a URI with credentials)"
                    : givenRoot) + "' " + rootProblem);
        }
        PipelineSpec.TaskQueues queues = taskQueues(n.get("task_queues"));
        long seed = integer(n, "seed", 0, 0, Integer.MAX_VALUE);
        String template = string(n, "template", "compact");
        if (!template.equals("compact") && !template.equals("prometheus")) {
            error("template", "'" + template + "' is not compact or prometheus");
        }
        int heartbeat = integer(n, "heartbeat_timeout_seconds", 60, 1, 3600);
        if (heartbeat < 2 * PipelineSpec.HEARTBEAT_INTERVAL_SECONDS) {
            error("heartbeat_timeout_seconds", "must be at least " + 2 * PipelineSpec.HEARTBEAT_INTERVAL_SECONDS
                    + " (twice the " + PipelineSpec.HEARTBEAT_INTERVAL_SECONDS + " s heartbeat interval, so that one "
                    + "late heartbeat is not a timeout), got " + heartbeat);
        }
        Method m = Method.named(method);
        if (m != null && m.cot()) {
            generationBudget("stage1.max_length", stage1.maxLength(), generation.maxNewTokens());
            if (m.twoStages()) {
                generationBudget("stage2.max_length", stage2.maxLength(), generation.maxNewTokens());
            }
        }
        return new PipelineSpec(name, seedModel, trainData, evalSets, method, stage1, stage2, generation, scoring,
                nCot, checkpoint, shardSize, artifactRoot, queues, seed, template, heartbeat, tracking(n.get("tracking")));
    }

    private PipelineSpec.Tracking tracking(JsonNode n) {
        JsonNode t = n == null || n.isNull() ? YAML.createObjectNode() : n;
        unknownKeys(t, "tracking", Set.of("uri", "experiment", "registered_model", "alias"));
        String uri = t.hasNonNull("uri") ? t.get("uri").asText() : null;
        String problem = destinations.trackingProblem(uri);
        if (uri != null && !uri.startsWith("http://") && !uri.startsWith("https://") && !uri.equals("local")) {
            error("tracking.uri", "'" + uri + "' must be an http(s) URL of an MLflow tracking server, or local");
        } else if (problem != null) {
            // the URI is not echoed: it may hold a password
            error("tracking.uri", "the URI " + problem);
        }
        String experiment = t.hasNonNull("experiment") ? t.get("experiment").asText() : "tract";
        if (experiment.isBlank()) {
            error("tracking.experiment", "must not be empty");
        }
        String model = t.hasNonNull("registered_model") ? t.get("registered_model").asText() : null;
        String alias = t.hasNonNull("alias") ? t.get("alias").asText() : "champion";
        if (!alias.matches("[A-Za-z][A-Za-z0-9_-]{0,254}")) {
            error("tracking.alias", "'" + alias + "' must start with a letter and hold letters, digits, _ or -");
        } else if (alias.equalsIgnoreCase("latest") || alias.matches("[vV]\\d+")) {
            // MLflow reserves them (validation.py, _validate_model_alias_name): "latest" and version aliases
            error("tracking.alias", "'" + alias + "' is reserved by MLflow's model registry (latest, v1, v2...)");
        }
        return new PipelineSpec.Tracking(uri, experiment, model, alias);
    }

    /** A registered MLflow model: models:/name@alias or models:/name/version. */
    public static final java.util.regex.Pattern REGISTERED_MODEL = java.util.regex.Pattern.compile(
            "models:/([^/@]+)(?:@([A-Za-z0-9_-]+)|/([0-9]+))");

    private PipelineSpec.SeedModel seedModel(JsonNode n) {
        if (n == null || n.isNull()) {
            return new PipelineSpec.SeedModel("small", null, null, 0);
        }
        if (n.isTextual()) {
            String v = n.asText();
            if (PRESETS.contains(v)) {
                return new PipelineSpec.SeedModel(v, null, null, 0);
            }
            PipelineSpec.SeedModel m = v.contains("://") ? new PipelineSpec.SeedModel(null, null, v, 0)
                    : new PipelineSpec.SeedModel(null, baseDir.resolve(v).normalize().toString(), null, 0);
            data("seed_model", v, m.path() != null ? m.path() : m.uri());
            return m;
        }
        if (!n.isObject()) {
            error("seed_model", "must be a preset name, a path, a URI or a mapping with preset, path or uri");
            return null;
        }
        unknownKeys(n, "seed_model", Set.of("preset", "path", "uri", "seed"));
        int given = (n.hasNonNull("preset") ? 1 : 0) + (n.hasNonNull("path") ? 1 : 0) + (n.hasNonNull("uri") ? 1 : 0);
        if (given != 1) {
            error("seed_model", "give exactly one of preset, path or uri");
            return null;
        }
        String preset = n.hasNonNull("preset") ? n.get("preset").asText() : null;
        if (preset != null && !PRESETS.contains(preset)) {
            error("seed_model.preset", "'" + preset + "' is not one of " + PRESETS);
        }
        String path = n.hasNonNull("path") ? baseDir.resolve(n.get("path").asText()).normalize().toString() : null;
        String uri = n.hasNonNull("uri") ? n.get("uri").asText() : null;
        if (uri != null && uri.startsWith("models:/")) {
            if (!REGISTERED_MODEL.matcher(uri).matches()) {
                error("seed_model.uri", "'" + uri + "' must be models:/<name>@<alias> or models:/<name>/<version>");
            }
            // resolved through the tracking server when the pipeline prepares its data; the source it names is
            // checked against the worker's data roots there
        } else if (uri != null && !uri.startsWith("s3://") && !uri.startsWith("file:")) {
            error("seed_model.uri", "'" + uri + "' must be an s3:// or file: URI, or a registered model "
                    + "models:/<name>@<alias>");
        } else if (uri != null) {
            data("seed_model.uri", uri, uri);
        }
        if (path != null) {
            data("seed_model.path", n.get("path").asText(), path);
        }
        return new PipelineSpec.SeedModel(preset, path, uri, integer(n, "seed", 0, 0, Integer.MAX_VALUE));
    }

    private String location(JsonNode n, String field) {
        String v = n.get(field).asText();
        if (v.isBlank()) {
            error(field, "must not be empty");
            return v;
        }
        try {
            return v.contains("://") ? v : baseDir.resolve(v).normalize().toString();
        } catch (java.nio.file.InvalidPathException e) {
            error(field, "is not a valid path");
            return v;
        }
    }

    /** A field error when a location to read is outside the data roots; says nothing of what is there. */
    private void data(String field, String given, String resolved) {
        if (given.isBlank()) {
            return;
        }
        String problem = destinations.dataProblem(resolved);
        if (problem != null) {
            error(field, "'" + (problem.startsWith("must not embed") ? "(a URI with credentials)" : given) + "' "
                    + problem);
        }
    }

    private List<PipelineSpec.EvalSet> evalSets(JsonNode n) {
        List<PipelineSpec.EvalSet> out = new ArrayList<>();
        if (n == null || n.isNull() || (n.isArray() && n.isEmpty())) {
            error("eval_sets", "at least one evaluation set is required ({name, data})");
            return out;
        }
        if (!n.isArray()) {
            error("eval_sets", "must be a list of {name, data}");
            return out;
        }
        Set<String> names = new HashSet<>();
        for (int i = 0; i < n.size(); i++) {
            JsonNode e = n.get(i);
            String path = "eval_sets[" + i + "]";
            if (!e.isObject()) {
                error(path, "must be a mapping {name, data}");
                continue;
            }
            unknownKeys(e, path, Set.of("name", "data"));
            String name = e.path("name").asText("");
            if (!SAFE_NAME.matcher(name).matches()) {
                error(path + ".name", "'" + name + "' must be letters, digits, '.', '_' or '-', starting with a letter "
                        + "or digit (it becomes a folder and an S3 key)");
            } else if (!names.add(name)) {
                error(path + ".name", "'" + name + "' is used twice");
            }
            if (!e.hasNonNull("data")) {
                error(path + ".data", "is required");
                continue;
            }
            String data = location(e, "data");
            data(path + ".data", e.get("data").asText(), data);
            out.add(new PipelineSpec.EvalSet(name, data));
        }
        return out;
    }

    private PipelineSpec.Stage stage(JsonNode n, String path) {
        JsonNode s = n == null || n.isNull() ? YAML.createObjectNode() : n;
        if (!s.isObject()) {
            error(path, "must be a mapping");
            s = YAML.createObjectNode();
        }
        unknownKeys(s, path, Set.of("steps", "epochs", "lr", "lambda", "batch_size", "grad_accumulation",
                "max_length", "warmup_ratio", "weight_decay", "max_grad_norm", "lora"));
        int steps = integer(s, "steps", 0, 0, 10_000_000, path);
        double epochs = number(s, "epochs", 1.0, 0.0, 1000, path);
        if (steps == 0 && epochs <= 0) {
            error(path + ".epochs", "give steps or a positive number of epochs");
        }
        double lr = number(s, "lr", 1e-3, 1e-9, 0.999, path);
        double lambda = number(s, "lambda", 1.0, 0.0, 1000, path);
        int batch = integer(s, "batch_size", 8, 1, 4096, path);
        int accumulation = integer(s, "grad_accumulation", 1, 1, 4096, path);
        int maxLength = integer(s, "max_length", 2048, 16, 1 << 20, path);
        double warmup = number(s, "warmup_ratio", 0.1, 0.0, 0.999, path);
        double wd = number(s, "weight_decay", 0.0, 0.0, 0.999, path);
        double clip = number(s, "max_grad_norm", 1.0, 1e-6, 1e6, path);
        PipelineSpec.Lora lora = new PipelineSpec.Lora(0, 0, 0, List.of("all-linear"));
        JsonNode l = s.get("lora");
        if (l != null && !l.isNull()) {
            if (!l.isObject()) {
                error(path + ".lora", "must be a mapping {rank, alpha, dropout, targets}");
            } else {
                unknownKeys(l, path + ".lora", Set.of("rank", "alpha", "dropout", "targets"));
                int rank = integer(l, "rank", 16, 1, 4096, path + ".lora");
                double alpha = number(l, "alpha", 2.0 * rank, 1e-6, 1e6, path + ".lora");
                double dropout = number(l, "dropout", 0.05, 0.0, 0.99, path + ".lora");
                List<String> targets = new ArrayList<>();
                JsonNode t = l.get("targets");
                if (t == null || t.isNull()) {
                    targets.add("all-linear");
                } else if (t.isArray()) {
                    t.forEach(x -> targets.add(x.asText()));
                } else {
                    targets.add(t.asText());
                }
                List<String> allowed = List.of("all-linear", "q_proj", "k_proj", "v_proj", "o_proj", "gate_proj",
                        "up_proj", "down_proj");
                for (String target : targets) {
                    if (!allowed.contains(target)) {
                        error(path + ".lora.targets", "'" + target + "' is not one of " + allowed);
                    }
                }
                lora = new PipelineSpec.Lora(rank, alpha, dropout, targets);
            }
        }
        return new PipelineSpec.Stage(steps, epochs, lr, lambda, batch, accumulation, maxLength, warmup, wd, clip,
                lora);
    }

    /**
     * Generation (CoT self-generation, CoT-RAIL scoring) reserves max_new_tokens plus the score suffix out of the
     * max length; what is left must hold a prompt. Refused at parse time, naming both fields, rather than later
     * with every prompt emptied and an error about the rubric.
     */
    private void generationBudget(String field, int maxLength, int maxNewTokens) {
        int budget = maxLength - maxNewTokens - GENERATION_SUFFIX;
        if (budget < MIN_PROMPT_TOKENS) {
            error(field, maxLength + " leaves " + budget + " tokens for the prompt after generation.max_new_tokens ("
                    + maxNewTokens + ") and the " + GENERATION_SUFFIX + " tokens of the score suffix; it must be at "
                    + "least " + (maxNewTokens + GENERATION_SUFFIX + MIN_PROMPT_TOKENS) + ", or lower "
                    + "generation.max_new_tokens");
        }
    }

    private PipelineSpec.Generation generation(JsonNode n) {
        JsonNode g = n == null || n.isNull() ? YAML.createObjectNode() : n;
        unknownKeys(g, "generation", Set.of("temperature", "top_p", "repetition_penalty", "max_new_tokens"));
        return new PipelineSpec.Generation(number(g, "temperature", 1.0, 1e-6, 100, "generation"),
                number(g, "top_p", 0.9, 1e-6, 1.0, "generation"),
                number(g, "repetition_penalty", 1.03, 1e-6, 100, "generation"),
                integer(g, "max_new_tokens", 1024, 1, 1 << 20, "generation"));
    }

    private PipelineSpec.Checkpointing checkpointing(JsonNode n) {
        JsonNode c = n == null || n.isNull() ? YAML.createObjectNode() : n;
        unknownKeys(c, "checkpoint", Set.of("every_steps", "every_seconds"));
        return new PipelineSpec.Checkpointing(integer(c, "every_steps", 50, 0, 10_000_000, "checkpoint"),
                number(c, "every_seconds", 300, 0, 1e7, "checkpoint"));
    }

    private PipelineSpec.TaskQueues taskQueues(JsonNode n) {
        JsonNode q = n == null || n.isNull() ? YAML.createObjectNode() : n;
        unknownKeys(q, "task_queues", Set.of("gpu", "cpu"));
        String gpu = string(q, "gpu", "tract-gpu");
        String cpu = string(q, "cpu", "tract-cpu");
        for (String[] v : new String[][] {{"task_queues.gpu", gpu}, {"task_queues.cpu", cpu}}) {
            if (!SAFE_NAME.matcher(v[1]).matches()) {
                error(v[0], "'" + v[1] + "' is not a valid task queue name");
            }
        }
        return new PipelineSpec.TaskQueues(gpu, cpu);
    }

    private String artifactRoot(String value) {
        try {
            return artifactRootOf(value);
        } catch (IllegalArgumentException e) {
            error("artifact_root", "is not a valid path or URI");
            return value;
        }
    }

    private String artifactRootOf(String value) {
        if (value.startsWith("s3://")) {
            URI u = URI.create(value);
            if (u.getHost() == null || u.getHost().isEmpty()) {
                error("artifact_root", "'" + value + "' names no bucket");
            }
            return value.endsWith("/") ? value.substring(0, value.length() - 1) : value;
        }
        if (value.startsWith("file:")) {
            return Path.of(URI.create(value)).toUri().toString();
        }
        if (value.contains("://")) {
            error("artifact_root", "'" + value + "' must be a file:// or s3:// URI (or a local path)");
            return value;
        }
        return baseDir.resolve(value).normalize().toUri().toString();
    }

    private String string(JsonNode n, String field, String fallback) {
        JsonNode v = n.get(field);
        if (v == null || v.isNull()) {
            return fallback;
        }
        if (!v.isValueNode()) {
            error(field, "must be a string");
            return fallback;
        }
        return v.asText();
    }

    private int integer(JsonNode n, String field, int fallback, int min, int max) {
        return integer(n, field, fallback, min, max, "");
    }

    private int integer(JsonNode n, String field, int fallback, int min, int max, String path) {
        String name = path.isEmpty() ? field : path + "." + field;
        JsonNode v = n.get(field);
        if (v == null || v.isNull()) {
            return fallback;
        }
        if (!v.isIntegralNumber() || !v.canConvertToInt()) {
            error(name, "must be an integer, got " + v);
            return fallback;
        }
        if (v.asInt() < min || v.asInt() > max) {
            error(name, "must be in [" + min + ", " + max + "], got " + v.asInt());
            return fallback;
        }
        return v.asInt();
    }

    private double number(JsonNode n, String field, double fallback, double min, double max, String path) {
        String name = path + "." + field;
        JsonNode v = n.get(field);
        if (v == null || v.isNull()) {
            return fallback;
        }
        if (!v.isNumber()) {
            error(name, "must be a number, got " + v);
            return fallback;
        }
        double d = v.asDouble();
        if (!(d >= min && d <= max)) {
            error(name, "must be in [" + min + ", " + max + "], got " + d);
            return fallback;
        }
        return d;
    }

    private static JsonNode readTree(String text) {
        try {
            return YAML.readTree(text);
        } catch (Exception e) {
            throw new SpecException(List.of(new SpecException.FieldError("(document)",
                    "not valid YAML or JSON: " + firstLine(e.getMessage()))));
        }
    }

    /**
     * The spec as JSON with its relative file paths (train_data, eval_sets[].data, seed_model.path) made absolute
     * against {@code baseDir}, for sending to a server that does not share the caller's working folder.
     */
    public static String withAbsolutePaths(String text, Path baseDir) {
        JsonNode root = readTree(text);
        if (root instanceof ObjectNode o) {
            absolutize(o, "train_data", baseDir);
            if (o.get("eval_sets") != null) {
                o.get("eval_sets").forEach(e -> {
                    if (e instanceof ObjectNode eo) {
                        absolutize(eo, "data", baseDir);
                    }
                });
            }
            JsonNode seed = o.get("seed_model");
            if (seed instanceof ObjectNode so) {
                absolutize(so, "path", baseDir);
            } else if (seed != null && seed.isTextual() && !PRESETS.contains(seed.asText())) {
                absolutize(o, "seed_model", baseDir);
            }
            if (o.get("artifact_root") != null && o.get("artifact_root").isTextual()
                    && !o.get("artifact_root").asText().contains(":")) {
                o.put("artifact_root", baseDir.resolve(o.get("artifact_root").asText()).normalize().toUri()
                        .toString());
            }
        }
        return root == null ? "" : root.toString();
    }

    private static void absolutize(ObjectNode o, String field, Path baseDir) {
        JsonNode v = o.get(field);
        if (v != null && v.isTextual() && !v.asText().contains("://") && !v.asText().isBlank()) {
            o.put(field, baseDir.resolve(v.asText()).normalize().toString());
        }
    }

    /** Reads the text of a spec; the charset is UTF-8. */
    public static String read(Path file) throws java.io.IOException {
        return java.nio.file.Files.readString(file, StandardCharsets.UTF_8);
    }
}
