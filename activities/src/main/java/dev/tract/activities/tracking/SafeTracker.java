package dev.tract.activities.tracking;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Tracking that never fails the work it tracks: every call is retried with backoff, metrics are buffered and sent
 * in batches, and what still cannot be logged is counted (the report says how much) instead of thrown.
 */
public final class SafeTracker implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(SafeTracker.class);
    private static final int FLUSH_AT = 200;
    private static final long FLUSH_NANOS = 15_000_000_000L;
    private final Tracker tracker;
    private final int attempts;
    private final long backoffMillis;
    private final Map<String, List<Tracker.Metric>> buffer = new LinkedHashMap<>();
    private final AtomicInteger failures = new AtomicInteger();
    private final AtomicInteger calls = new AtomicInteger();
    private long lastFlush = System.nanoTime();

    public SafeTracker(Tracker tracker, int attempts, long backoffMillis) {
        this.tracker = tracker;
        this.attempts = attempts;
        this.backoffMillis = backoffMillis;
    }

    public SafeTracker(Tracker tracker) {
        this(tracker, 4, 500);
    }

    private interface Call<T> {
        T run() throws Exception;
    }

    private <T> T attempt(String what, Call<T> call, T fallback) {
        long wait = backoffMillis;
        for (int i = 1; i <= attempts; i++) {
            calls.incrementAndGet();
            try {
                return call.run();
            } catch (Exception e) {
                if (i == attempts) {
                    failures.incrementAndGet();
                    LOG.warn("tracking: {} failed after {} attempts: {}", what, attempts, e.toString());
                    return fallback;
                }
                try {
                    Thread.sleep(wait);
                } catch (InterruptedException ie) {
                    Thread.currentThread().interrupt();
                    failures.incrementAndGet();
                    return fallback;
                }
                wait *= 2;
            }
        }
        return fallback;
    }

    public String kind() {
        return tracker.kind();
    }

    /** The run id, or null when the tracker could not be reached. */
    public String openRun(String runKey, String runName, String parentRunId, Map<String, String> tags) {
        return attempt("open run " + runName, () -> tracker.openRun(runKey, runName, parentRunId, tags), null);
    }

    public void logParams(String runId, Map<String, String> params) {
        if (runId != null && !params.isEmpty()) {
            attempt("log params", () -> {
                tracker.logParams(runId, params);
                return null;
            }, null);
        }
    }

    public void setTags(String runId, Map<String, String> tags) {
        if (runId != null && !tags.isEmpty()) {
            attempt("set tags", () -> {
                tracker.setTags(runId, tags);
                return null;
            }, null);
        }
    }

    public void logInputs(String runId, List<Tracker.DatasetInput> inputs) {
        if (runId != null && !inputs.isEmpty()) {
            attempt("log inputs", () -> {
                tracker.logInputs(runId, inputs);
                return null;
            }, null);
        }
    }

    public void logArtifact(String runId, String artifactPath, Path file) {
        if (runId != null) {
            attempt("upload artifact " + artifactPath, () -> {
                tracker.logArtifact(runId, artifactPath, file);
                return null;
            }, null);
        }
    }

    public void endRun(String runId, String status) {
        if (runId != null) {
            flush();
            attempt("end run", () -> {
                tracker.endRun(runId, status);
                return null;
            }, null);
        }
    }

    public OptionalLong lastStep(String runId, String key) {
        return runId == null ? OptionalLong.empty()
                : attempt("read last step", () -> tracker.lastStep(runId, key), OptionalLong.empty());
    }

    /** The source of a registered model version; unlike the calls that record, a failure here is thrown. */
    public String registeredModelSource(String name, String alias, String version) throws Exception {
        return tracker.registeredModelSource(name, alias, version);
    }

    public String registerModel(String name, String source, String runId, String alias) {
        return attempt("register model " + name, () -> tracker.registerModel(name, source, runId, alias), null);
    }

    public String runUrl(String runId) {
        return runId == null ? null : tracker.runUrl(runId);
    }

    /** Buffers a metric; sends the buffer when it is large or old enough. */
    public synchronized void metric(String runId, String key, double value, long step) {
        if (runId == null || Double.isNaN(value) || Double.isInfinite(value)) {
            return;
        }
        buffer.computeIfAbsent(runId, k -> new ArrayList<>())
                .add(new Tracker.Metric(key, value, step, System.currentTimeMillis()));
        int size = buffer.values().stream().mapToInt(List::size).sum();
        if (size >= FLUSH_AT || System.nanoTime() - lastFlush > FLUSH_NANOS) {
            flush();
        }
    }

    /** Sends every buffered metric (a batch per run, within MLflow's per-call limits). */
    public synchronized void flush() {
        lastFlush = System.nanoTime();
        for (Map.Entry<String, List<Tracker.Metric>> e : buffer.entrySet()) {
            List<Tracker.Metric> metrics = List.copyOf(e.getValue());
            if (!metrics.isEmpty()) {
                attempt("log " + metrics.size() + " metrics", () -> {
                    tracker.logMetrics(e.getKey(), metrics);
                    return null;
                }, null);
            }
        }
        buffer.clear();
    }

    /** Calls that failed for good. */
    public int failures() {
        return failures.get();
    }

    /** Calls made to the tracker, retries included. */
    public int calls() {
        return calls.get();
    }

    @Override
    public void close() {
        flush();
        tracker.close();
    }
}
