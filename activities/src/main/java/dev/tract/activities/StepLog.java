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
    private final List<String> lines = new ArrayList<>();

    private StepLog(ArtifactStore store, String key) {
        this.store = store;
        this.key = key;
    }

    static StepLog resume(ArtifactStore store, String key) throws IOException {
        StepLog log = new StepLog(store, key);
        for (String line : store.getString(key).orElse("").split("\n")) {
            if (!line.isBlank()) {
                log.lines.add(line);
            }
        }
        return log;
    }

    synchronized void add(StepMetrics m) {
        lines.removeIf(l -> step(l) >= m.step());
        lines.add(JSON.createObjectNode().put("step", m.step()).put("loss", m.loss()).put("ce_loss", m.ceLoss())
                .put("raft_loss", m.raftLoss()).put("lr", m.lr()).put("grad_norm", m.gradNorm())
                .put("tokens_per_s", m.tokensPerSecond()).put("seconds", m.seconds()).toString());
    }

    private static int step(String line) {
        try {
            JsonNode n = JSON.readTree(line);
            return n.path("step").asInt();
        } catch (IOException e) {
            return Integer.MAX_VALUE;
        }
    }

    /** Stores the steps up to {@code upTo} (those a resume will not train again). */
    synchronized void save(int upTo) {
        StringBuilder sb = new StringBuilder();
        for (String l : lines) {
            if (step(l) <= upTo) {
                sb.append(l).append('\n');
            }
        }
        try {
            store.putString(key, sb.toString());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
