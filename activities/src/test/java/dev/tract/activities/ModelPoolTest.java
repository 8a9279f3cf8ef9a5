package dev.tract.activities;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tract.judge.model.ModelInit;
import dev.tract.judge.model.Preset;
import dev.tract.judge.model.SequenceLogits;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Shards on one worker load a model once; a second shard at once gets its own copy; the bound evicts. */
class ModelPoolTest {
    @TempDir
    Path tmp;

    static final long[] IDS = {1, 40, 77, 300, 12};

    @Test
    void aModelIsLoadedOnceAndReusedUntilTheBoundEvictsIt() throws Exception {
        Path dir = tmp.resolve("tiny");
        ModelInit.init(Preset.TINY, dir, 7, null);
        try (ModelPool pool = new ModelPool(1L << 30)) {
            float[][] first;
            try (ModelPool.Lease a = pool.acquire("d1", dir, "cpu")) {
                first = SequenceLogits.of(a.model(), IDS);
                // a second shard running at the same time gets a copy of its own
                try (ModelPool.Lease b = pool.acquire("d1", dir, "cpu")) {
                    assertThat(b.model()).isNotSameAs(a.model());
                }
            }
            assertThat(pool.loads()).isEqualTo(2);
            assertThat(pool.idle()).isEqualTo(2);
            try (ModelPool.Lease again = pool.acquire("d1", dir, "cpu")) {
                assertThat(SequenceLogits.of(again.model(), IDS)).isDeepEqualTo(first);
            }
            assertThat(pool.loads()).as("reused, not loaded again").isEqualTo(2);
            try (ModelPool.Lease other = pool.acquire("d2", dir, "cpu")) {
                assertThat(other.model()).isNotNull();
            }
            assertThat(pool.loads()).as("another digest is another model").isEqualTo(3);
        }
        try (ModelPool none = new ModelPool(0)) {
            none.acquire("d1", dir, "cpu").close();
            assertThat(none.idle()).as("a bound of 0 keeps nothing idle").isZero();
            none.acquire("d1", dir, "cpu").close();
            assertThat(none.loads()).isEqualTo(2);
        }
    }
}
