package dev.tract.judge.train;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Checkpoint names keep their order past step 999,999 (a run of millions of steps resumes from its newest). */
class CheckpointerTest {
    @TempDir
    Path tmp;

    @Test
    void checkpointsPastStep999999AreNewestAndResumedFrom() throws Exception {
        Checkpointer ck = new Checkpointer(tmp.resolve("ck"), 2);
        try (NDManager nd = NDManager.newBaseManager()) {
            for (int step : new int[] {999_998, 999_999, 1_000_000, 1_000_001}) {
                NDArray w = nd.create(new float[] {step});
                ck.save(new TrainerState(step, 2_000_000, 0, step, step, step, 0, "cfg", 0.5, step, 2),
                        Map.of("w", w), Map.of("m.w", w));
            }
        }
        assertThat(ck.checkpoints()).extracting(p -> p.getFileName().toString())
                .containsExactly("step-1000001", "step-1000000");
        Checkpointer.Restored r = ck.latestValid().orElseThrow();
        assertThat(r.state().step()).isEqualTo(1_000_001);
        assertThat(r.params().get("w")).containsExactly(1_000_001f);
        assertThat(List.of("step-1000000", "step-999999", "step-000200").stream().sorted(Checkpointer.BY_STEP))
                .containsExactly("step-000200", "step-999999", "step-1000000");
        assertThat(Checkpointer.isName("step-1000000")).isTrue();
        assertThat(Checkpointer.isName("step-1000000.tmp-5")).isFalse();
    }
}
