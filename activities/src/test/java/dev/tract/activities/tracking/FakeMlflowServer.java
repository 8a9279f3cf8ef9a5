package dev.tract.activities.tracking;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A real HTTP server that speaks MLflow's REST API (2.x) for the calls tract makes, checks every request against
 * the rules MLflow enforces (method, path, content type, required fields and their types, key names, value
 * lengths, log-batch limits, immutable params, digest length, lifecycle stages, alias names, artifact paths, search
 * filters) and answers with MLflow's response shapes and error codes. Each rule cites where MLflow has it:
 * {@code mlflow/utils/validation.py} ("validation" below), {@code mlflow/server/handlers.py} ("handlers") and
 * {@code mlflow/store/tracking/sqlalchemy_store.py} ("store"). Violations are recorded; tests assert there are
 * none. It can require a bearer token or basic auth, and can play an outage (503 to everything).
 */
public final class FakeMlflowServer implements AutoCloseable {
    /** validation: validate_param_and_metric_name (the form every platform accepts; POSIX also allows ':'). */
    static final Pattern KEY_NAME = Pattern.compile("^[/\\w.\\- ]*$");
    /** validation: MAX_ENTITY_KEY_LENGTH, MAX_TAG_VAL_LENGTH, MAX_PARAM_VAL_LENGTH, MAX_BATCH_LOG_REQUEST_SIZE. */
    static final int MAX_KEY = 250;
    static final int MAX_TAG_VALUE = 8000;
    static final int MAX_PARAM_VALUE = 6000;
    static final int MAX_BATCH_BYTES = 1_000_000;
    /** validation: _REGISTERED_MODEL_ALIAS_REGEX, _REGISTERED_MODEL_ALIAS_VERSION_REGEX, "latest" is reserved. */
    static final Pattern ALIAS = Pattern.compile("^[\\w\\-]*$");
    static final Pattern ALIAS_VERSION = Pattern.compile("^[vV]\\d+$");

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern RUN_KEY_FILTER = Pattern.compile("tags\\.`([^`]+)` = '([^']*)'");

    private final HttpServer server;
    private final List<String> requests = Collections.synchronizedList(new ArrayList<>());
    private final List<String> violations = Collections.synchronizedList(new ArrayList<>());
    private final Map<String, ObjectNode> experiments = new LinkedHashMap<>();
    private final Map<String, Run> runs = new LinkedHashMap<>();
    private final Map<String, List<ObjectNode>> versions = new HashMap<>();
    private final Map<String, Map<String, String>> aliases = new HashMap<>();
    private final Map<String, byte[]> artifacts = new LinkedHashMap<>();
    private final AtomicInteger ids = new AtomicInteger();
    /** Per accepted log-batch call: {metrics, params, tags}. */
    private final List<int[]> batches = Collections.synchronizedList(new ArrayList<>());
    private volatile String requiredAuth;
    private volatile boolean down;
    private volatile String artifactRoot = "mlflow-artifacts:";

    /** What the server knows of a run. */
    public static final class Run {
        public final ObjectNode info;
        public final Map<String, String> params = new LinkedHashMap<>();
        public final Map<String, String> tags = new LinkedHashMap<>();
        public final List<ObjectNode> metrics = new ArrayList<>();
        public final List<JsonNode> inputs = new ArrayList<>();

        Run(ObjectNode info) {
            this.info = info;
        }
    }

    public FakeMlflowServer() throws IOException {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/", this::handle);
        server.start();
    }

    public String uri() {
        return "http://127.0.0.1:" + server.getAddress().getPort();
    }

    /** Requests must carry this Authorization header (e.g. "Bearer t0k3n"), or null for none. */
    public void requireAuthorization(String header) {
        requiredAuth = header;
    }

    public void setDown(boolean d) {
        down = d;
    }

    /** New experiments store artifacts under this root: "mlflow-artifacts:" (proxied) or an s3:// URI. */
    public void setArtifactRoot(String root) {
        artifactRoot = root;
    }

    public List<String> requests() {
        return List.copyOf(requests);
    }

    public List<String> violations() {
        return List.copyOf(violations);
    }

    public synchronized Map<String, Run> runs() {
        return Map.copyOf(runs);
    }

    public synchronized Map<String, byte[]> artifacts() {
        return Map.copyOf(artifacts);
    }

    /** Every log-batch call, as {metrics, params, tags} counts. */
    public List<int[]> batches() {
        return List.copyOf(batches);
    }

    public synchronized Map<String, String> aliases(String model) {
        return aliases.getOrDefault(model, Map.of());
    }

    public synchronized List<ObjectNode> versions(String model) {
        return versions.getOrDefault(model, List.of());
    }

    private void handle(HttpExchange ex) throws IOException {
        String method = ex.getRequestMethod();
        String path = ex.getRequestURI().getRawPath();
        requests.add(method + " " + path);
        try {
            if (down) {
                send(ex, 503, JSON.createObjectNode().put("error_code", "TEMPORARILY_UNAVAILABLE"));
                return;
            }
            if (requiredAuth != null && !requiredAuth.equals(ex.getRequestHeaders().getFirst("Authorization"))) {
                send(ex, 401, JSON.createObjectNode().put("error_code", "UNAUTHENTICATED")
                        .put("message", "bad credentials"));
                return;
            }
            byte[] body = ex.getRequestBody().readAllBytes();
            if (path.startsWith("/api/2.0/mlflow-artifacts/artifacts/")) {
                expect(method, "PUT", path);
                String artifact = URLDecoder.decode(path.substring("/api/2.0/mlflow-artifacts/artifacts/".length()),
                        StandardCharsets.UTF_8);
                synchronized (this) {
                    // handlers: _validate_path_is_safe refuses '..'; the file must be under a run's artifact URI
                    boolean underRun = runs.values().stream().anyMatch(r -> artifact.startsWith(r.info
                            .get("artifact_uri").asText().replaceFirst("^mlflow-artifacts:/+", "") + "/"));
                    if (List.of(artifact.split("/")).contains("..") || !underRun) {
                        violation("artifact path outside every run's artifact URI: " + artifact);
                        throw new ApiError(400, "INVALID_PARAMETER_VALUE", "Invalid path: " + artifact);
                    }
                    artifacts.put(artifact, body);
                }
                send(ex, 200, JSON.createObjectNode());
                return;
            }
            if (!path.startsWith("/api/2.0/mlflow/")) {
                violation(method + " " + path + ": not an MLflow REST path");
                send(ex, 404, error("ENDPOINT_NOT_FOUND", path));
                return;
            }
            String endpoint = path.substring("/api/2.0/mlflow/".length());
            String type = ex.getRequestHeaders().getFirst("Content-Type");
            if (method.equals("POST") && (type == null || !type.toLowerCase(java.util.Locale.ROOT)
                    .startsWith("application/json"))) {
                // handlers: _validate_content_type(request, ["application/json"]) on every POST
                violation(endpoint + ": Content-Type " + type + " instead of application/json");
                throw new ApiError(400, "BAD_REQUEST", "Bad Request. Content-Type must be one of "
                        + "['application/json']");
            }
            if (endpoint.equals("runs/log-batch") && body.length > MAX_BATCH_BYTES) {
                // validation: _validate_batch_log_api_req
                violation("runs/log-batch body of " + body.length + " bytes");
                throw new ApiError(400, "INVALID_PARAMETER_VALUE", "Batched logging API requests must be at most "
                        + MAX_BATCH_BYTES + " bytes, got a request of size " + body.length + ".");
            }
            Map<String, String> query = query(ex.getRequestURI().getRawQuery());
            JsonNode json = body.length == 0 ? JSON.createObjectNode() : JSON.readTree(body);
            ObjectNode answer;
            synchronized (this) {
                answer = dispatch(method, endpoint, query, json, ex);
            }
            if (answer != null) {
                send(ex, 200, answer);
            }
        } catch (ApiError e) {
            send(ex, e.status, error(e.code, e.getMessage()));
        } catch (RuntimeException e) {
            violation(method + " " + path + ": server error " + e);
            send(ex, 500, error("INTERNAL_ERROR", e.toString()));
        }
    }

    private static final class ApiError extends RuntimeException {
        final int status;
        final String code;

        ApiError(int status, String code, String message) {
            super(message);
            this.status = status;
            this.code = code;
        }
    }

    private ObjectNode version(String name, String version) {
        return versions.getOrDefault(name, List.of()).stream().filter(v -> v.get("version").asText().equals(version))
                .findFirst().orElseThrow(() -> new ApiError(404, "RESOURCE_DOES_NOT_EXIST", "Model Version (name="
                        + name + ", version=" + version + ") not found"));
    }

    private ObjectNode dispatch(String method, String endpoint, Map<String, String> q, JsonNode b, HttpExchange ex) {
        switch (endpoint) {
            case "experiments/get-by-name" -> {
                expect(method, "GET", endpoint);
                String name = required(q, "experiment_name");
                for (ObjectNode e : experiments.values()) {
                    if (e.get("name").asText().equals(name)) {
                        return JSON.createObjectNode().set("experiment", e);
                    }
                }
                throw new ApiError(404, "RESOURCE_DOES_NOT_EXIST", "Could not find experiment with name " + name);
            }
            case "experiments/create" -> {
                expect(method, "POST", endpoint);
                String name = text(b, "name", true);
                for (ObjectNode e : experiments.values()) {
                    if (e.get("name").asText().equals(name)) {
                        // store: a deleted experiment keeps its name until it is permanently deleted
                        throw new ApiError(400, "RESOURCE_ALREADY_EXISTS", "Experiment '" + name + "' already exists"
                                + (e.get("lifecycle_stage").asText().equals("deleted") ? " in deleted state." : "."));
                    }
                }
                String id = String.valueOf(experiments.size() + 1);
                experiments.put(id, JSON.createObjectNode().put("experiment_id", id).put("name", name)
                        .put("artifact_location", artifactRoot + (artifactRoot.endsWith(":") ? "/" : "/") + id)
                        .put("lifecycle_stage", "active"));
                return JSON.createObjectNode().put("experiment_id", id);
            }
            case "experiments/restore" -> {
                expect(method, "POST", endpoint);
                String exp = text(b, "experiment_id", true);
                if (!experiments.containsKey(exp)) {
                    throw new ApiError(404, "RESOURCE_DOES_NOT_EXIST", "No experiment " + exp);
                }
                experiments.get(exp).put("lifecycle_stage", "active");
                return JSON.createObjectNode();
            }
            case "runs/create" -> {
                expect(method, "POST", endpoint);
                String exp = text(b, "experiment_id", true);
                if (!experiments.containsKey(exp)) {
                    throw new ApiError(404, "RESOURCE_DOES_NOT_EXIST", "No experiment " + exp);
                }
                if (experiments.get(exp).get("lifecycle_stage").asText().equals("deleted")) {
                    // store: _check_experiment_is_active
                    violation("runs/create in deleted experiment " + exp);
                    throw new ApiError(400, "INVALID_PARAMETER_VALUE", "The experiment " + exp + " must be in the "
                            + "'active' state. Current state is deleted.");
                }
                for (JsonNode t : b.path("tags")) {
                    tag(text(t, "key", true), t.path("value").asText(), "tags");
                }
                String id = UUID.randomUUID().toString().replace("-", "");
                String location = experiments.get(exp).get("artifact_location").asText();
                ObjectNode info = JSON.createObjectNode().put("run_id", id).put("run_uuid", id)
                        .put("experiment_id", exp).put("status", "RUNNING")
                        .put("start_time", b.path("start_time").asLong())
                        .put("artifact_uri", location + "/" + id + "/artifacts").put("lifecycle_stage", "active")
                        .put("run_name", b.path("run_name").asText(""));
                Run r = new Run(info);
                for (JsonNode t : b.path("tags")) {
                    r.tags.put(text(t, "key", true), t.path("value").asText());
                }
                runs.put(id, r);
                return JSON.createObjectNode().set("run", runJson(r));
            }
            case "runs/get" -> {
                expect(method, "GET", endpoint);
                return JSON.createObjectNode().set("run", runJson(run(required(q, "run_id"))));
            }
            case "runs/search" -> {
                expect(method, "POST", endpoint);
                if (!b.path("experiment_ids").isArray()) {
                    violation("runs/search: experiment_ids must be a list");
                }
                String filter = b.path("filter").asText("");
                Matcher m = RUN_KEY_FILTER.matcher(filter);
                if (!filter.isEmpty() && !m.matches()) {
                    // MLflow parses every filter (search_utils.SearchUtils) and refuses what it cannot parse; a
                    // stand-in that matched nothing instead would hide a broken filter
                    violation("runs/search: a filter this stand-in does not understand: " + filter);
                    throw new ApiError(400, "INVALID_PARAMETER_VALUE", "Invalid filter '" + filter + "'");
                }
                ArrayNode found = JSON.createArrayNode();
                for (Run r : runs.values()) {
                    boolean inExp = false;
                    for (JsonNode e : b.path("experiment_ids")) {
                        inExp |= e.asText().equals(r.info.get("experiment_id").asText());
                    }
                    // run_view_type defaults to ACTIVE_ONLY: deleted runs are not found
                    boolean active = r.info.get("lifecycle_stage").asText().equals("active");
                    if (inExp && active && (filter.isEmpty() || m.group(2).equals(r.tags.get(m.group(1))))) {
                        found.add(runJson(r));
                    }
                }
                ObjectNode o = JSON.createObjectNode();
                if (!found.isEmpty()) {
                    o.set("runs", found);
                }
                return o;
            }
            case "runs/log-batch" -> {
                expect(method, "POST", endpoint);
                Run r = activeRun(text(b, "run_id", true));
                int metrics = b.path("metrics").size();
                int params = b.path("params").size();
                int tags = b.path("tags").size();
                batches.add(new int[] {metrics, params, tags});
                if (metrics > 1000 || params > 100 || tags > 100 || metrics + params + tags > 1000) {
                    violation("runs/log-batch over MLflow's limits: " + metrics + " metrics, " + params + " params, "
                            + tags + " tags");
                    throw new ApiError(400, "INVALID_PARAMETER_VALUE", "too many entities in one batch");
                }
                java.util.Set<String> keys = new java.util.HashSet<>();
                for (JsonNode p : b.path("params")) {
                    String k = text(p, "key", true);
                    if (!keys.add(k)) {
                        // validation: _validate_param_keys_unique
                        violation("duplicate param key in one batch: " + k);
                        throw new ApiError(400, "INVALID_PARAMETER_VALUE", "Duplicate parameter keys have been "
                                + "submitted: [" + k + "].");
                    }
                }
                for (JsonNode p : b.path("params")) {
                    String k = text(p, "key", true);
                    String v = p.path("value").asText();
                    key(k, "params");
                    if (v.length() > MAX_PARAM_VALUE) {
                        // validation: _validate_param (truncated only where the server opts in; refused here)
                        violation("param value longer than " + MAX_PARAM_VALUE + ": " + k);
                        throw new ApiError(400, "INVALID_PARAMETER_VALUE", "'Param value' exceeds the maximum "
                                + "length of " + MAX_PARAM_VALUE + " characters");
                    }
                    String old = r.params.putIfAbsent(k, v);
                    if (old != null && !old.equals(v)) {
                        throw new ApiError(400, "INVALID_PARAMETER_VALUE", "Changing param values is not allowed. "
                                + "Param with key='" + k + "' was already logged with value='" + old + "'");
                    }
                }
                for (JsonNode t : b.path("tags")) {
                    String k = text(t, "key", true);
                    tag(k, t.path("value").asText(), "tags");
                    r.tags.put(k, t.path("value").asText());
                }
                for (JsonNode mt : b.path("metrics")) {
                    key(text(mt, "key", true), "metrics");
                    // validation: _validate_metric: a number (proto3 JSON writes NaN and infinities as strings),
                    // an integer timestamp >= 0 and an integer step (int64 travels as a string or a number)
                    JsonNode v = mt.get("value");
                    boolean numeric = v != null && (v.isNumber() || (v.isTextual() && List.of("NaN", "Infinity",
                            "-Infinity").contains(v.asText())));
                    if (!numeric || !integer(mt.get("timestamp"), true) || (mt.has("step")
                            && !integer(mt.get("step"), false))) {
                        violation("metric with a value that is not a number or a step/timestamp that is not an "
                                + "integer: " + mt);
                        throw new ApiError(400, "INVALID_PARAMETER_VALUE", "Invalid metric " + mt);
                    }
                    r.metrics.add((ObjectNode) mt);
                }
                return JSON.createObjectNode();
            }
            case "runs/update" -> {
                expect(method, "POST", endpoint);
                Run r = activeRun(text(b, "run_id", true));
                String status = b.path("status").asText("");
                if (!List.of("RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED").contains(status)) {
                    violation("runs/update: unknown status " + status);
                }
                r.info.put("status", status).put("end_time", b.path("end_time").asLong());
                return JSON.createObjectNode().set("run_info", r.info);
            }
            case "runs/log-inputs" -> {
                expect(method, "POST", endpoint);
                Run r = activeRun(text(b, "run_id", true));
                for (JsonNode d : b.path("datasets")) {
                    JsonNode ds = d.path("dataset");
                    for (String f : new String[] {"name", "digest", "source_type", "source"}) {
                        text(ds, f, true);
                    }
                    if (ds.path("digest").asText().length() > 36) {
                        violation("dataset digest longer than 36 characters");
                    }
                    r.inputs.add(d);
                }
                return JSON.createObjectNode();
            }
            case "registered-models/create" -> {
                expect(method, "POST", endpoint);
                String name = text(b, "name", true);
                if (versions.containsKey(name)) {
                    throw new ApiError(400, "RESOURCE_ALREADY_EXISTS", "Registered Model (name=" + name
                            + ") already exists.");
                }
                versions.put(name, new ArrayList<>());
                return JSON.createObjectNode().set("registered_model", JSON.createObjectNode().put("name", name));
            }
            case "model-versions/create" -> {
                expect(method, "POST", endpoint);
                String name = text(b, "name", true);
                String source = text(b, "source", true);
                if (!versions.containsKey(name)) {
                    throw new ApiError(404, "RESOURCE_DOES_NOT_EXIST", "Registered Model with name=" + name
                            + " not found");
                }
                ObjectNode v = JSON.createObjectNode().put("name", name)
                        .put("version", String.valueOf(versions.get(name).size() + 1)).put("source", source)
                        .put("run_id", b.path("run_id").asText()).put("status", "READY");
                versions.get(name).add(v);
                return JSON.createObjectNode().set("model_version", v);
            }
            case "registered-models/alias" -> {
                if (method.equals("GET")) {
                    // GetModelVersionByAlias
                    String name = required(q, "name");
                    String version = aliases.getOrDefault(name, Map.of()).get(required(q, "alias"));
                    if (version == null) {
                        throw new ApiError(404, "RESOURCE_DOES_NOT_EXIST", "Registered model alias "
                                + q.get("alias") + " not found.");
                    }
                    return JSON.createObjectNode().set("model_version", version(name, version));
                }
                expect(method, "POST", endpoint);
                String name = text(b, "name", true);
                String alias = text(b, "alias", true);
                String version = text(b, "version", true);
                // validation: _validate_model_alias_name
                if (!ALIAS.matcher(alias).matches() || ALIAS_VERSION.matcher(alias).matches()
                        || alias.equalsIgnoreCase("latest") || alias.length() > 255) {
                    violation("reserved or invalid alias name: " + alias);
                    throw new ApiError(400, "INVALID_PARAMETER_VALUE", "Invalid alias name: '" + alias + "'");
                }
                if (versions.getOrDefault(name, List.of()).stream().noneMatch(v -> v.get("version").asText()
                        .equals(version))) {
                    throw new ApiError(404, "RESOURCE_DOES_NOT_EXIST", "no version " + version + " of " + name);
                }
                aliases.computeIfAbsent(name, k -> new HashMap<>()).put(alias, version);
                return JSON.createObjectNode();
            }
            case "model-versions/get" -> {
                expect(method, "GET", endpoint);
                return JSON.createObjectNode().set("model_version", version(required(q, "name"),
                        required(q, "version")));
            }
            default -> {
                violation(method + " " + endpoint + ": not an endpoint tract should call");
                throw new ApiError(404, "ENDPOINT_NOT_FOUND", endpoint);
            }
        }
    }

    /** store: _check_run_is_active: a deleted run takes no more logging. */
    private Run activeRun(String id) {
        Run r = run(id);
        if (!r.info.get("lifecycle_stage").asText().equals("active")) {
            violation("logging to deleted run " + id);
            throw new ApiError(400, "INVALID_PARAMETER_VALUE", "The run " + id + " must be in the 'active' state. "
                    + "Current state is deleted.");
        }
        return r;
    }

    /** validation: _validate_tag_name and the tag value's length (MAX_TAG_VAL_LENGTH). */
    private void tag(String k, String value, String where) {
        key(k, where);
        if (value.length() > MAX_TAG_VALUE) {
            violation(where + ": tag value longer than " + MAX_TAG_VALUE + ": " + k);
            throw new ApiError(400, "INVALID_PARAMETER_VALUE", "'" + where + ".value' exceeds the maximum length of "
                    + MAX_TAG_VALUE + " characters");
        }
    }

    /** validation: validate_param_and_metric_name, path_not_unique and MAX_ENTITY_KEY_LENGTH. */
    private void key(String k, String where) {
        boolean notUnique = k.isEmpty() || k.startsWith("/") || List.of(k.split("/", -1)).stream()
                .anyMatch(seg -> seg.isEmpty() || seg.equals(".") || seg.equals(".."));
        if (!KEY_NAME.matcher(k).matches() || notUnique || k.length() > MAX_KEY) {
            violation(where + ": invalid key name '" + k + "'");
            throw new ApiError(400, "INVALID_PARAMETER_VALUE", "Invalid value \"" + k + "\" for parameter '" + where
                    + "' supplied");
        }
    }

    private static boolean integer(JsonNode n, boolean nonNegative) {
        if (n == null) {
            return false;
        }
        long v;
        if (n.isIntegralNumber()) {
            v = n.asLong();
        } else if (n.isTextual() && n.asText().matches("-?\\d+")) {
            v = Long.parseLong(n.asText());
        } else {
            return false;
        }
        return !nonNegative || v >= 0;
    }

    /** Marks an experiment deleted, as `mlflow experiments delete` does. */
    public synchronized void deleteExperiment(String name) {
        experiments.values().stream().filter(e -> e.get("name").asText().equals(name))
                .forEach(e -> e.put("lifecycle_stage", "deleted"));
    }

    /** Marks a run deleted, as `mlflow runs delete` does. */
    public synchronized void deleteRun(String runId) {
        run(runId).info.put("lifecycle_stage", "deleted");
    }

    private Run run(String id) {
        Run r = runs.get(id);
        if (r == null) {
            throw new ApiError(404, "RESOURCE_DOES_NOT_EXIST", "Run '" + id + "' not found");
        }
        return r;
    }

    private ObjectNode runJson(Run r) {
        ObjectNode run = JSON.createObjectNode();
        run.set("info", r.info);
        ObjectNode data = run.putObject("data");
        Map<String, ObjectNode> latest = new LinkedHashMap<>();
        for (ObjectNode m : r.metrics) {
            ObjectNode prev = latest.get(m.get("key").asText());
            if (prev == null || m.path("step").asLong() >= prev.path("step").asLong()) {
                latest.put(m.get("key").asText(), m);
            }
        }
        if (!latest.isEmpty()) {
            latest.values().forEach(data.withArray("metrics")::add);
        }
        r.params.forEach((k, v) -> data.withArray("params").addObject().put("key", k).put("value", v));
        r.tags.forEach((k, v) -> data.withArray("tags").addObject().put("key", k).put("value", v));
        return run;
    }

    private void expect(String method, String want, String endpoint) {
        if (!method.equals(want)) {
            violation(endpoint + ": " + method + " instead of " + want);
            throw new ApiError(405, "BAD_REQUEST", "method not allowed");
        }
    }

    private String text(JsonNode n, String field, boolean required) {
        JsonNode v = n.get(field);
        if (v == null || v.isNull() || (v.isTextual() && v.asText().isEmpty())) {
            if (required) {
                violation("missing required field '" + field + "' in " + n);
                throw new ApiError(400, "INVALID_PARAMETER_VALUE", "Missing value for required parameter '" + field
                        + "'");
            }
            return null;
        }
        return v.asText();
    }

    private String required(Map<String, String> q, String name) {
        String v = q.get(name);
        if (v == null) {
            violation("missing query parameter " + name);
            throw new ApiError(400, "INVALID_PARAMETER_VALUE", "Missing value for required parameter '" + name + "'");
        }
        return v;
    }

    private void violation(String v) {
        violations.add(v);
    }

    private static Map<String, String> query(String raw) {
        Map<String, String> q = new HashMap<>();
        if (raw != null) {
            for (String kv : raw.split("&")) {
                int i = kv.indexOf('=');
                if (i > 0) {
                    q.put(URLDecoder.decode(kv.substring(0, i), StandardCharsets.UTF_8),
                            URLDecoder.decode(kv.substring(i + 1), StandardCharsets.UTF_8));
                }
            }
        }
        return q;
    }

    private static ObjectNode error(String code, String message) {
        return JSON.createObjectNode().put("error_code", code).put("message", message);
    }

    private static void send(HttpExchange ex, int status, JsonNode body) throws IOException {
        byte[] bytes = JSON.writeValueAsBytes(body);
        ex.getResponseHeaders().add("Content-Type", "application/json");
        ex.sendResponseHeaders(status, bytes.length);
        ex.getResponseBody().write(bytes);
        ex.close();
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
