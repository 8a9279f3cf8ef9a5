package dev.tract.activities.tracking;

import dev.tract.activities.artifacts.ArtifactStore;
import dev.tract.workflows.spec.Destinations;
import dev.tract.workflows.spec.PipelineSpec;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.function.Supplier;

/** Chooses the tracker of a pipeline: MLflow when the spec or $MLFLOW_TRACKING_URI names a server, else local. */
public final class Trackers {
    private Trackers() {}

    /** The MLflow URI the spec or the environment names, or null for local tracking. */
    public static String mlflowUri(PipelineSpec.Tracking t) {
        String uri = t == null ? null : t.uri();
        if (uri == null) {
            uri = System.getenv("MLFLOW_TRACKING_URI");
        }
        if (uri == null || uri.isBlank() || uri.equals("local") || !uri.startsWith("http")) {
            return null;
        }
        return uri;
    }

    /**
     * The pipeline's tracker. An MLflow server that cannot be reached is not an error here: the connection is
     * retried on each call, and calls that still fail are counted by the {@link SafeTracker}.
     */
    public static SafeTracker open(PipelineSpec.Tracking t, String pipelineId, ArtifactStore store) {
        return open(t, pipelineId, store, Destinations.unrestricted());
    }

    /**
     * The pipeline's tracker, when the spec's tracking URI is one this worker may send its credentials to; a
     * non-retryable failure names the field otherwise. Artifacts go only to an S3 location inside the
     * destinations' artifact roots.
     */
    public static SafeTracker open(PipelineSpec.Tracking t, String pipelineId, ArtifactStore store,
                                   Destinations destinations) {
        String problem = destinations.trackingProblem(t == null ? null : t.uri());
        if (problem != null) {
            // the worker's credentials would go there: never retried
            throw io.temporal.failure.ApplicationFailure.newNonRetryableFailure("tracking.uri: the URI " + problem,
                    dev.tract.workflows.TractPipelineWorkflowImpl.BAD_INPUT);
        }
        String uri = mlflowUri(t);
        if (uri != null) {
            String experiment = t == null ? "tract" : t.experiment();
            return new SafeTracker(new Deferred(() -> new MlflowTracker(uri, experiment,
                    MlflowTracker.Credentials.fromEnv(), null, destinations)));
        }
        return new SafeTracker(new LocalTracker(store, pipelineId));
    }

    /** Connects on first use, and again on later calls while connecting fails. */
    static final class Deferred implements Tracker {
        private final Supplier<Tracker> connect;
        private Tracker tracker;

        Deferred(Supplier<Tracker> connect) {
            this.connect = connect;
        }

        private synchronized Tracker get() {
            if (tracker == null) {
                tracker = connect.get();
            }
            return tracker;
        }

        @Override
        public String kind() {
            return "mlflow";
        }

        @Override
        public String openRun(String runKey, String runName, String parentRunId, Map<String, String> tags)
                throws Exception {
            return get().openRun(runKey, runName, parentRunId, tags);
        }

        @Override
        public void logParams(String runId, Map<String, String> params) throws Exception {
            get().logParams(runId, params);
        }

        @Override
        public void setTags(String runId, Map<String, String> tags) throws Exception {
            get().setTags(runId, tags);
        }

        @Override
        public void logMetrics(String runId, List<Metric> metrics) throws Exception {
            get().logMetrics(runId, metrics);
        }

        @Override
        public void logInputs(String runId, List<DatasetInput> inputs) throws Exception {
            get().logInputs(runId, inputs);
        }

        @Override
        public void logArtifact(String runId, String artifactPath, Path file) throws Exception {
            get().logArtifact(runId, artifactPath, file);
        }

        @Override
        public void endRun(String runId, String status) throws Exception {
            get().endRun(runId, status);
        }

        @Override
        public OptionalLong lastStep(String runId, String metricKey) throws Exception {
            return get().lastStep(runId, metricKey);
        }

        @Override
        public String registeredModelSource(String name, String alias, String version) throws Exception {
            return get().registeredModelSource(name, alias, version);
        }

        @Override
        public String registerModel(String name, String source, String runId, String alias) throws Exception {
            return get().registerModel(name, source, runId, alias);
        }

        @Override
        public String runUrl(String runId) {
            try {
                return get().runUrl(runId);
            } catch (RuntimeException e) {
                return null;
            }
        }

        @Override
        public synchronized void close() {
            if (tracker != null) {
                tracker.close();
            }
        }
    }
}
