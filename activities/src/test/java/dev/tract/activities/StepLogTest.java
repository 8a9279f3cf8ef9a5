package dev.tract.activities;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tract.activities.artifacts.LocalArtifactStore;
import dev.tract.judge.train.StepMetrics;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The loss curve of a stage that was resumed holds each step once, at any step count. */
class StepLogTest {
    @TempDir
    Path tmp;

    private static StepMetrics step(int s, double loss) {
        return new StepMetrics(s, 2_000_000, loss, loss, 0, 1e-3, 1, 100, 0.1);
    }

    private static int[] steps(String jsonl) {
        return Arrays.stream(jsonl.split("\n")).filter(l -> !l.isBlank())
                .mapToInt(l -> Integer.parseInt(l.replaceAll(".*\"step\":(\\d+).*", "$1"))).toArray();
    }

    @Test
    void aResumedStageLogsEachStepOnceAndKeepsWhatTheCheckpointHeld() throws Exception {
        LocalArtifactStore store = new LocalArtifactStore(tmp);
        StepLog log = StepLog.resume(store, "m.jsonl");
        for (int s = 999_995; s <= 1_000_004; s++) {
            log.add(step(s, 1.0));
        }
        log.save(1_000_000);
        assertThat(steps(store.getString("m.jsonl").orElseThrow())).containsExactly(999_995, 999_996, 999_997,
                999_998, 999_999, 1_000_000);

        // the attempt dies after step 1,000,004; the next resumes from the checkpoint at 1,000,000 and trains again
        StepLog resumed = StepLog.resume(store, "m.jsonl");
        for (int s = 1_000_001; s <= 1_000_003; s++) {
            resumed.add(step(s, 0.5));
        }
        resumed.add(step(1_000_002, 0.25)); // a step trained again in the same attempt replaces the later ones
        resumed.save(1_000_003);
        String saved = store.getString("m.jsonl").orElseThrow();
        assertThat(steps(saved)).containsExactly(999_995, 999_996, 999_997, 999_998, 999_999, 1_000_000,
                1_000_001, 1_000_002);
        assertThat(saved.lines().filter(l -> l.contains("\"step\":1000002")).findFirst().orElseThrow())
                .contains("\"loss\":0.25");
        assertThat(resumed.size()).isEqualTo(8);
    }
}
