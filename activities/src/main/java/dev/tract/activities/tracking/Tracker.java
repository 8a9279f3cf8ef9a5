package dev.tract.activities.tracking;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;

/**
 * Experiment tracking: MLflow when a tracking server is configured, files in the artifact store otherwise. Runs
 * are identified by a key (tag {@code tract.runKey}), so opening the same run twice (a retried activity) returns
 * the same run.
 */
public interface Tracker extends AutoCloseable {
    /** One metric value. */
    record Metric(String key, double value, long step, long timestampMillis) {}

    /** A dataset used by a run (MLflow's dataset inputs). */
    record DatasetInput(String name, String digest, String source, String context) {}

    /** "mlflow" or "local". */
    String kind();

    /** Finds the run with this key or creates it (a child of parentRunId when not null). */
    String openRun(String runKey, String runName, String parentRunId, Map<String, String> tags) throws Exception;

    void logParams(String runId, Map<String, String> params) throws Exception;

    void setTags(String runId, Map<String, String> tags) throws Exception;

    void logMetrics(String runId, List<Metric> metrics) throws Exception;

    void logInputs(String runId, List<DatasetInput> inputs) throws Exception;

    /** Uploads a file as an artifact of the run at {@code artifactPath} (e.g. "report/report.html"). */
    void logArtifact(String runId, String artifactPath, Path file) throws Exception;

    /** FINISHED, FAILED or KILLED. */
    void endRun(String runId, String status) throws Exception;

    /** The newest step logged for a metric, or empty. */
    OptionalLong lastStep(String runId, String metricKey) throws Exception;

    /** Registers a model version from {@code source} and points {@code alias} at it; returns the version. */
    String registerModel(String name, String source, String runId, String alias) throws Exception;

    /**
     * The source URI of a registered model version, by alias (when {@code alias} is not null) or by version;
     * only a tracking server has a registry.
     */
    default String registeredModelSource(String name, String alias, String version) throws Exception {
        throw new UnsupportedOperationException("models:/ needs an MLflow tracking server (tracking.uri in the "
                + "spec, or MLFLOW_TRACKING_URI); this pipeline tracks to files");
    }

    /** Where a person looks at the run (a UI link, or the folder of a local run). */
    String runUrl(String runId);

    @Override
    default void close() {}
}
