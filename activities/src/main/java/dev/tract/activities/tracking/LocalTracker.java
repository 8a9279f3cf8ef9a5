package dev.tract.activities.tracking;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tract.activities.artifacts.ArtifactStore;
import dev.tract.workflows.CacheKeys;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;

/**
 * Tracking into files of the artifact store when there is no MLflow server:
 * {@code pipelines/<id>/tracking/<run>/} holds run.json (name, parent, tags, params, status), metrics in
 * chunk files {@code metrics-<first step>-<n>.jsonl}, and artifacts/.
 */
public final class LocalTracker implements Tracker {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final ArtifactStore store;
    private final String base;

    public LocalTracker(ArtifactStore store, String pipelineId) {
        this.store = store;
        this.base = "pipelines/" + pipelineId + "/tracking";
    }

    @Override
    public String kind() {
        return "local";
    }

    private String runDir(String runId) {
        return base + "/" + runId;
    }

    private ObjectNode run(String runId) throws IOException {
        return (ObjectNode) JSON.readTree(store.getString(runDir(runId) + "/run.json")
                .orElseThrow(() -> new IOException("no local run " + runId)));
    }

    private void save(String runId, ObjectNode run) throws IOException {
        store.putString(runDir(runId) + "/run.json", JSON.writerWithDefaultPrettyPrinter().writeValueAsString(run));
    }

    @Override
    public String openRun(String runKey, String runName, String parentRunId, Map<String, String> tags)
            throws IOException {
        String id = CacheKeys.of("run", runKey);
        if (store.exists(runDir(id) + "/run.json")) {
            return id;
        }
        ObjectNode r = JSON.createObjectNode().put("run_id", id).put("run_name", runName).put("run_key", runKey)
                .put("status", "RUNNING").put("start_time", System.currentTimeMillis());
        if (parentRunId != null) {
            r.put("parent_run_id", parentRunId);
        }
        ObjectNode t = r.putObject("tags");
        tags.forEach(t::put);
        r.putObject("params");
        r.putArray("inputs");
        save(id, r);
        return id;
    }

    @Override
    public synchronized void logParams(String runId, Map<String, String> params) throws IOException {
        ObjectNode r = run(runId);
        params.forEach(((ObjectNode) r.get("params"))::put);
        save(runId, r);
    }

    @Override
    public synchronized void setTags(String runId, Map<String, String> tags) throws IOException {
        ObjectNode r = run(runId);
        tags.forEach(((ObjectNode) r.get("tags"))::put);
        save(runId, r);
    }

    @Override
    public void logMetrics(String runId, List<Metric> metrics) throws IOException {
        if (metrics.isEmpty()) {
            return;
        }
        StringBuilder sb = new StringBuilder();
        for (Metric m : metrics) {
            sb.append(JSON.writeValueAsString(m)).append('\n');
        }
        store.putString(runDir(runId) + String.format("/metrics-%09d-%d.jsonl", metrics.get(0).step(),
                System.nanoTime()), sb.toString());
    }

    @Override
    public synchronized void logInputs(String runId, List<DatasetInput> inputs) throws IOException {
        ObjectNode r = run(runId);
        inputs.forEach(i -> r.withArray("inputs").add(JSON.valueToTree(i)));
        save(runId, r);
    }

    @Override
    public void logArtifact(String runId, String artifactPath, Path file) throws IOException {
        store.putFile(runDir(runId) + "/artifacts/" + artifactPath, file);
    }

    @Override
    public synchronized void endRun(String runId, String status) throws IOException {
        ObjectNode r = run(runId);
        r.put("status", status).put("end_time", System.currentTimeMillis());
        save(runId, r);
    }

    @Override
    public OptionalLong lastStep(String runId, String metricKey) throws IOException {
        long last = -1;
        for (String key : store.list(runDir(runId))) {
            if (key.substring(key.lastIndexOf('/') + 1).startsWith("metrics-")) {
                for (String line : store.getString(key).orElse("").split("\n")) {
                    if (!line.isBlank()) {
                        JsonNode m = JSON.readTree(line);
                        if (m.path("key").asText().equals(metricKey)) {
                            last = Math.max(last, m.path("step").asLong());
                        }
                    }
                }
            }
        }
        return last < 0 ? OptionalLong.empty() : OptionalLong.of(last);
    }

    @Override
    public String registerModel(String name, String source, String runId, String alias) throws IOException {
        store.putString(base + "/registered-models/" + name + ".json", JSON.createObjectNode().put("name", name)
                .put("source", source).put("run_id", runId).put("alias", alias).toString());
        return "1";
    }

    @Override
    public String runUrl(String runId) {
        return store.uri(runDir(runId));
    }
}
