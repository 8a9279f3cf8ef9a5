package dev.tract.activities;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tract.activities.artifacts.ArtifactStore;
import dev.tract.judge.train.StepMetrics;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;

/**
 * The step metrics of a training stage, kept beside its checkpoints ({@code metrics.jsonl}): saved with each
 * checkpoint, so after a resume it holds each step once (the steps after the checkpoint are trained, and logged,
 * again). The report draws its loss curves from it.
 */
final class StepLog {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final ArtifactStore store;
    private final String key;
    /** Lines in step order; steps only go back after a resume, so new lines are appended and stale ones popped. */
    private final List<Line> lines = new ArrayList<>();

    private record Line(long step, String json) {}

    private StepLog(ArtifactStore store, String key) {
        this.store = store;
        this.key = key;
    }

    static StepLog resume(ArtifactStore store, String key) throws IOException {
        StepLog log = new StepLog(store, key);
        for (String line : store.getString(key).orElse("").split("\n")) {
            if (!line.isBlank()) {
                log.append(step(line), line);
            }
        }
        return log;
    }

    /** Adds a step's metrics; a step trained again after a resume replaces what was logged from it on. */
    synchronized void add(StepMetrics m) {
        append(m.step(), JSON.createObjectNode().put("step", m.step()).put("loss", m.loss())
                .put("ce_loss", m.ceLoss()).put("raft_loss", m.raftLoss()).put("lr", m.lr())
                .put("grad_norm", m.gradNorm()).put("tokens_per_s", m.tokensPerSecond()).put("seconds", m.seconds())
                .toString());
    }

    private void append(long step, String json) {
        while (!lines.isEmpty() && lines.get(lines.size() - 1).step() >= step) {
            lines.remove(lines.size() - 1);
        }
        lines.add(new Line(step, json));
    }

    /** Lines held (for tests). */
    synchronized int size() {
        return lines.size();
    }

    private static long step(String line) {
        try {
            JsonNode n = JSON.readTree(line);
            return n.path("step").asLong();
        } catch (IOException e) {
            return Long.MAX_VALUE;
        }
    }

    /** Stores the steps up to {@code upTo} (those a resume will not train again). */
    synchronized void save(int upTo) {
        StringBuilder sb = new StringBuilder();
        for (Line l : lines) {
            if (l.step() > upTo) {
                break;
            }
            sb.append(l.json()).append('\n');
        }
        try {
            store.putString(key, sb.toString());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
