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
 * the documented contract (method, path, required fields and their types, log-batch limits, immutable params,
 * digest length) and answers with MLflow's response shapes and error codes. Violations are recorded; tests assert
 * there are none. It can require a bearer token or basic auth, and can play an outage (503 to everything).
 */
public final class FakeMlflowServer implements AutoCloseable {
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
                synchronized (this) {
                    artifacts.put(URLDecoder.decode(path.substring("/api/2.0/mlflow-artifacts/artifacts/".length()),
                            StandardCharsets.UTF_8), body);
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
                        throw new ApiError(400, "RESOURCE_ALREADY_EXISTS", "Experiment '" + name + "' already exists.");
                    }
                }
                String id = String.valueOf(experiments.size() + 1);
                experiments.put(id, JSON.createObjectNode().put("experiment_id", id).put("name", name)
                        .put("artifact_location", artifactRoot + (artifactRoot.endsWith(":") ? "/" : "/") + id)
                        .put("lifecycle_stage", "active"));
                return JSON.createObjectNode().put("experiment_id", id);
            }
            case "runs/create" -> {
                expect(method, "POST", endpoint);
                String exp = text(b, "experiment_id", true);
                if (!experiments.containsKey(exp)) {
                    throw new ApiError(404, "RESOURCE_DOES_NOT_EXIST", "No experiment " + exp);
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
                ArrayNode found = JSON.createArrayNode();
                for (Run r : runs.values()) {
                    boolean inExp = false;
                    for (JsonNode e : b.path("experiment_ids")) {
                        inExp |= e.asText().equals(r.info.get("experiment_id").asText());
                    }
                    if (inExp && (filter.isEmpty() || (m.matches() && m.group(2).equals(r.tags.get(m.group(1)))))) {
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
                Run r = run(text(b, "run_id", true));
                int metrics = b.path("metrics").size();
                int params = b.path("params").size();
                int tags = b.path("tags").size();
                if (metrics > 1000 || params > 100 || tags > 100 || metrics + params + tags > 1000) {
                    violation("runs/log-batch over MLflow's limits: " + metrics + " metrics, " + params + " params, "
                            + tags + " tags");
                    throw new ApiError(400, "INVALID_PARAMETER_VALUE", "too many entities in one batch");
                }
                for (JsonNode p : b.path("params")) {
                    String k = text(p, "key", true);
                    String v = p.path("value").asText();
                    if (k.length() > 250 || v.length() > 6000) {
                        violation("param too long: " + k);
                    }
                    String old = r.params.putIfAbsent(k, v);
                    if (old != null && !old.equals(v)) {
                        throw new ApiError(400, "INVALID_PARAMETER_VALUE", "Changing param values is not allowed. "
                                + "Param with key='" + k + "' was already logged with value='" + old + "'");
                    }
                }
                for (JsonNode t : b.path("tags")) {
                    r.tags.put(text(t, "key", true), t.path("value").asText());
                }
                for (JsonNode mt : b.path("metrics")) {
                    text(mt, "key", true);
                    if (!mt.has("value") || !mt.has("timestamp")) {
                        violation("metric without value or timestamp: " + mt);
                    }
                    r.metrics.add((ObjectNode) mt);
                }
                return JSON.createObjectNode();
            }
            case "runs/update" -> {
                expect(method, "POST", endpoint);
                Run r = run(text(b, "run_id", true));
                String status = b.path("status").asText("");
                if (!List.of("RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED").contains(status)) {
                    violation("runs/update: unknown status " + status);
                }
                r.info.put("status", status).put("end_time", b.path("end_time").asLong());
                return JSON.createObjectNode().set("run_info", r.info);
            }
            case "runs/log-inputs" -> {
                expect(method, "POST", endpoint);
                Run r = run(text(b, "run_id", true));
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
                expect(method, "POST", endpoint);
                String name = text(b, "name", true);
                String alias = text(b, "alias", true);
                String version = text(b, "version", true);
                if (versions.getOrDefault(name, List.of()).stream().noneMatch(v -> v.get("version").asText()
                        .equals(version))) {
                    throw new ApiError(404, "RESOURCE_DOES_NOT_EXIST", "no version " + version + " of " + name);
                }
                aliases.computeIfAbsent(name, k -> new HashMap<>()).put(alias, version);
                return JSON.createObjectNode();
            }
            default -> {
                violation(method + " " + endpoint + ": not an endpoint tract should call");
                throw new ApiError(404, "ENDPOINT_NOT_FOUND", endpoint);
            }
        }
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
