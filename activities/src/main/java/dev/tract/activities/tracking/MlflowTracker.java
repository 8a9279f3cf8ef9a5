package dev.tract.activities.tracking;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tract.activities.artifacts.ArtifactStore;
import dev.tract.activities.artifacts.ArtifactStores;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import org.mlflow.api.proto.Service;
import org.mlflow.tracking.MlflowClient;
import org.mlflow.tracking.MlflowHttpException;
import org.mlflow.tracking.creds.BasicMlflowHostCreds;

/**
 * MLflow through its official Java client (experiments, runs, params, tags, metrics in log-batch calls within
 * MLflow's limits) and its REST API where the client has no method (dataset inputs, model registry aliases).
 * Artifacts never go through Python: straight to S3 when the run's artifact URI is {@code s3://}, otherwise
 * through the tracking server's artifact proxy ({@code PUT /api/2.0/mlflow-artifacts/artifacts/...}).
 */
public final class MlflowTracker implements Tracker {
    static final int MAX_METRICS = 1000;
    static final int MAX_PARAMS = 100;
    static final int MAX_TAGS = 100;
    static final int MAX_PARAM_VALUE = 6000;
    /** MLflow's MAX_TAG_VAL_LENGTH: longer tag values are cut to it here rather than refused there. */
    static final int MAX_TAG_VALUE = 8000;
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(MlflowTracker.class);
    private static final ObjectMapper JSON = new ObjectMapper();

    private final String uri;
    private final Credentials credentials;
    private final MlflowClient client;
    private final String experimentId;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
    private final dev.tract.activities.artifacts.S3ArtifactStore.Settings s3;
    private final dev.tract.workflows.spec.Destinations destinations;

    /** Authentication as MLflow's own clients read it from the environment. */
    public record Credentials(String username, String password, String token, boolean insecure) {
        public static Credentials fromEnv() {
            Map<String, String> env = System.getenv();
            return new Credentials(env.get("MLFLOW_TRACKING_USERNAME"), env.get("MLFLOW_TRACKING_PASSWORD"),
                    env.get("MLFLOW_TRACKING_TOKEN"),
                    Boolean.parseBoolean(env.getOrDefault("MLFLOW_TRACKING_INSECURE_TLS", "false")));
        }

        String authorization() {
            if (token != null && !token.isBlank()) {
                return "Bearer " + token;
            }
            if (username != null && password != null) {
                return "Basic " + Base64.getEncoder().encodeToString((username + ":" + password)
                        .getBytes(StandardCharsets.UTF_8));
            }
            return null;
        }

        @Override
        public String toString() {
            return "Credentials[username=" + username + ", password=" + (password == null ? null : "***")
                    + ", token=" + (token == null ? null : "***") + "]";
        }
    }

    public MlflowTracker(String uri, String experiment, Credentials credentials) {
        this(uri, experiment, credentials, null);
    }

    /** @param s3 settings for runs whose artifacts live in S3; null reads them from the environment */
    public MlflowTracker(String uri, String experiment, Credentials credentials,
                         dev.tract.activities.artifacts.S3ArtifactStore.Settings s3) {
        this(uri, experiment, credentials, s3, dev.tract.workflows.spec.Destinations.unrestricted());
    }

    /**
     * @param destinations where the worker may write: a run whose artifact URI (chosen by the tracking server) is an
     *     S3 location outside its artifact roots gets no artifacts, rather than the worker's credentials
     */
    public MlflowTracker(String uri, String experiment, Credentials credentials,
                         dev.tract.activities.artifacts.S3ArtifactStore.Settings s3,
                         dev.tract.workflows.spec.Destinations destinations) {
        this.destinations = destinations;
        this.s3 = s3;
        this.uri = uri.endsWith("/") ? uri.substring(0, uri.length() - 1) : uri;
        this.credentials = credentials;
        this.client = new MlflowClient(new BasicMlflowHostCreds(this.uri, credentials.username(),
                credentials.password(), credentials.token(), credentials.insecure()));
        this.experimentId = experiment(experiment);
    }

    /**
     * The experiment's id, created when missing. A deleted experiment keeps its name in MLflow, so it can neither be
     * used nor created again: it is restored, and the log says so.
     */
    private String experiment(String name) {
        java.util.Optional<Service.Experiment> found = client.getExperimentByName(name);
        if (found.isPresent() && "deleted".equals(found.get().getLifecycleStage())) {
            LOG.warn("MLflow experiment '{}' ({}) was deleted; restoring it to log this pipeline's runs", name,
                    found.get().getExperimentId());
            client.sendPost("experiments/restore", JSON.createObjectNode().put("experiment_id",
                    found.get().getExperimentId()).toString());
        }
        return found.map(Service.Experiment::getExperimentId).orElseGet(() -> {
            try {
                return client.createExperiment(name);
            } catch (MlflowHttpException e) {
                // created meanwhile by another worker
                return client.getExperimentByName(name).orElseThrow(() -> e).getExperimentId();
            }
        });
    }

    @Override
    public String kind() {
        return "mlflow";
    }

    public String experimentId() {
        return experimentId;
    }

    @Override
    public String openRun(String runKey, String runName, String parentRunId, Map<String, String> tags) {
        String filter = "tags.`tract.runKey` = '" + runKey.replace("'", "") + "'";
        List<Service.RunInfo> found = client.searchRuns(List.of(experimentId), filter);
        if (!found.isEmpty()) {
            return found.get(0).getRunId();
        }
        Service.CreateRun.Builder create = Service.CreateRun.newBuilder().setExperimentId(experimentId)
                .setStartTime(System.currentTimeMillis()).setRunName(runName)
                .addTags(tag("mlflow.runName", runName)).addTags(tag("tract.runKey", runKey));
        if (parentRunId != null) {
            create.addTags(tag("mlflow.parentRunId", parentRunId));
        }
        tags.forEach((k, v) -> create.addTags(tag(k, v)));
        return client.createRun(create.build()).getRunId();
    }

    private static Service.RunTag tag(String k, String v) {
        String value = v == null ? "" : v.length() > MAX_TAG_VALUE ? v.substring(0, MAX_TAG_VALUE) : v;
        return Service.RunTag.newBuilder().setKey(k).setValue(value).build();
    }

    @Override
    public void logParams(String runId, Map<String, String> params) {
        List<Service.Param> all = new ArrayList<>();
        params.forEach((k, v) -> all.add(Service.Param.newBuilder().setKey(k)
                .setValue(v == null ? "" : v.length() > MAX_PARAM_VALUE ? v.substring(0, MAX_PARAM_VALUE) : v)
                .build()));
        for (int i = 0; i < all.size(); i += MAX_PARAMS) {
            client.logBatch(runId, List.of(), all.subList(i, Math.min(all.size(), i + MAX_PARAMS)), List.of());
        }
    }

    @Override
    public void setTags(String runId, Map<String, String> tags) {
        List<Service.RunTag> all = new ArrayList<>();
        tags.forEach((k, v) -> all.add(tag(k, v)));
        for (int i = 0; i < all.size(); i += MAX_TAGS) {
            client.logBatch(runId, List.of(), List.of(), all.subList(i, Math.min(all.size(), i + MAX_TAGS)));
        }
    }

    @Override
    public void logMetrics(String runId, List<Metric> metrics) {
        List<Service.Metric> all = new ArrayList<>();
        for (Metric m : metrics) {
            if (!Double.isNaN(m.value())) {
                all.add(Service.Metric.newBuilder().setKey(m.key()).setValue(m.value()).setStep(m.step())
                        .setTimestamp(m.timestampMillis()).build());
            }
        }
        for (int i = 0; i < all.size(); i += MAX_METRICS) {
            client.logBatch(runId, all.subList(i, Math.min(all.size(), i + MAX_METRICS)), List.of(), List.of());
        }
    }

    @Override
    public void logInputs(String runId, List<DatasetInput> inputs) {
        ObjectNode body = JSON.createObjectNode().put("run_id", runId);
        ArrayNode datasets = body.putArray("datasets");
        for (DatasetInput in : inputs) {
            ObjectNode d = datasets.addObject();
            d.putArray("tags").addObject().put("key", "mlflow.data.context").put("value", in.context());
            // MLflow stores at most 36 characters of a digest
            d.putObject("dataset").put("name", in.name()).put("digest", in.digest().substring(0,
                    Math.min(36, in.digest().length()))).put("source_type", sourceType(in.source()))
                    .put("source", JSON.createObjectNode().put("uri", in.source()).toString());
        }
        client.sendPost("runs/log-inputs", body.toString());
    }

    private static String sourceType(String source) {
        return source.startsWith("s3://") ? "s3" : source.startsWith("http") ? "http" : "local";
    }

    @Override
    public void logArtifact(String runId, String artifactPath, Path file) throws IOException, InterruptedException {
        String artifactUri = client.getRun(runId).getInfo().getArtifactUri();
        if (artifactUri.startsWith("s3://")) {
            String problem = destinations.artifactProblem(artifactUri);
            if (problem != null) {
                throw new IOException("run " + runId + " stores artifacts at an S3 location that " + problem);
            }
            try (ArtifactStore store = ArtifactStores.open(artifactUri, s3)) {
                store.putFile(artifactPath, file);
            }
            return;
        }
        if (!artifactUri.startsWith("mlflow-artifacts:")) {
            throw new IOException("run " + runId + " stores artifacts at " + artifactUri + ", which tract cannot "
                    + "write without Python; use a server with --serve-artifacts or an s3:// artifact location");
        }
        String rest = artifactUri.substring("mlflow-artifacts:".length());
        while (rest.startsWith("/")) {
            rest = rest.substring(1);
        }
        StringBuilder path = new StringBuilder(uri).append("/api/2.0/mlflow-artifacts/artifacts/");
        for (String seg : (rest + "/" + artifactPath).split("/")) {
            if (!seg.isEmpty()) {
                path.append(URLEncoder.encode(seg, StandardCharsets.UTF_8).replace("+", "%20")).append('/');
            }
        }
        path.setLength(path.length() - 1);
        HttpRequest.Builder req = HttpRequest.newBuilder(URI.create(path.toString()))
                .timeout(Duration.ofMinutes(10)).header("Content-Type", "application/octet-stream")
                .PUT(HttpRequest.BodyPublishers.ofFile(file));
        String auth = credentials.authorization();
        if (auth != null) {
            req.header("Authorization", auth);
        }
        HttpResponse<String> r = http.send(req.build(), HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() / 100 != 2) {
            throw new IOException("artifact upload " + artifactPath + " to " + uri + " answered " + r.statusCode());
        }
    }

    @Override
    public void endRun(String runId, String status) {
        client.setTerminated(runId, Service.RunStatus.valueOf(status), System.currentTimeMillis());
    }

    @Override
    public OptionalLong lastStep(String runId, String metricKey) {
        for (Service.Metric m : client.getRun(runId).getData().getMetricsList()) {
            if (m.getKey().equals(metricKey)) {
                return OptionalLong.of(m.getStep());
            }
        }
        return OptionalLong.empty();
    }

    @Override
    public String registerModel(String name, String source, String runId, String alias) throws IOException {
        try {
            client.sendPost("registered-models/create", JSON.createObjectNode().put("name", name).toString());
        } catch (MlflowHttpException e) {
            if (!String.valueOf(e.getBodyMessage()).contains("RESOURCE_ALREADY_EXISTS")) {
                throw e;
            }
        }
        String created = client.sendPost("model-versions/create", JSON.createObjectNode().put("name", name)
                .put("source", source).put("run_id", runId).toString());
        JsonNode version = JSON.readTree(created).path("model_version").path("version");
        client.sendPost("registered-models/alias", JSON.createObjectNode().put("name", name).put("alias", alias)
                .put("version", version.asText()).toString());
        return version.asText();
    }

    @Override
    public String registeredModelSource(String name, String alias, String version) throws IOException {
        String q = "name=" + java.net.URLEncoder.encode(name, java.nio.charset.StandardCharsets.UTF_8);
        String body = alias != null
                ? client.sendGet("registered-models/alias?" + q + "&alias="
                        + java.net.URLEncoder.encode(alias, java.nio.charset.StandardCharsets.UTF_8))
                : client.sendGet("model-versions/get?" + q + "&version=" + version);
        String source = JSON.readTree(body).path("model_version").path("source").asText("");
        if (source.isBlank()) {
            throw new IOException("the registry at " + uri + " returned no source for " + name);
        }
        return source;
    }

    @Override
    public String runUrl(String runId) {
        return uri + "/#/experiments/" + experimentId + "/runs/" + runId;
    }

    @Override
    public void close() {
        client.close();
    }
}
