package dev.tract.activities;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tract.activities.artifacts.LocalArtifactStore;
import dev.tract.judge.train.Checkpointer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Two attempts of one stage alive at once (a zombie behind a partition, or two identical pipelines). */
class TrainingWorkspaceTest {
    static final Lease LIVE = lease(false);
    static final Lease LOST = lease(true);

    static Lease lease(boolean lost) {
        return new Lease() {
            @Override
            public boolean leaseLost() {
                return lost;
            }

            @Override
            public void beat() {}
        };
    }

    @TempDir
    Path tmp;

    private static Path checkpoint(Path dir, int step) throws Exception {
        Path c = dir.resolve(Checkpointer.name(step));
        Files.createDirectories(c);
        Files.writeString(c.resolve("params.safetensors"), "weights at " + step);
        Files.writeString(c.resolve(Checkpointer.MANIFEST), "{\"step\":" + step + "}");
        return c;
    }

    private List<String> stored(LocalArtifactStore store) throws Exception {
        return store.list("stages/train/k/checkpoints").stream().filter(k -> k.endsWith(Checkpointer.MANIFEST))
                .map(k -> k.split("/")[4]).sorted(Checkpointer.BY_STEP).toList();
    }

    @Test
    void latestOnlyMovesForwardAndPruningKeepsWhatItNames() throws Exception {
        LocalArtifactStore store = new LocalArtifactStore(tmp.resolve("store"));
        TrainingWorkspace fast = new TrainingWorkspace(store, "stages/train/k", tmp.resolve("a"), LIVE);
        TrainingWorkspace zombie = new TrainingWorkspace(store, "stages/train/k", tmp.resolve("b"), LIVE);
        fast.publish(checkpoint(tmp.resolve("a"), 10), () -> { });
        fast.publish(checkpoint(tmp.resolve("a"), 20), () -> { });
        fast.publish(checkpoint(tmp.resolve("a"), 30), () -> { });
        assertThat(fast.latest()).contains("step-000030");
        // the slower attempt is still at step 12 and 14: LATEST stays, and its pruning spares step 30
        zombie.publish(checkpoint(tmp.resolve("b"), 12), () -> { });
        assertThat(zombie.latest()).contains("step-000030");
        zombie.publish(checkpoint(tmp.resolve("b"), 14), () -> { });
        assertThat(zombie.latest()).contains("step-000030");
        assertThat(stored(store)).contains("step-000030");
        fast.publish(checkpoint(tmp.resolve("a"), 40), () -> { });
        assertThat(fast.latest()).contains("step-000040");
        assertThat(stored(store)).containsExactly("step-000030", "step-000040");
    }

    @Test
    void anAttemptThatLostItsLeasePublishesNothing() throws Exception {
        LocalArtifactStore store = new LocalArtifactStore(tmp.resolve("store"));
        TrainingWorkspace live = new TrainingWorkspace(store, "stages/train/k", tmp.resolve("a"), LIVE);
        live.publish(checkpoint(tmp.resolve("a"), 10), () -> { });
        TrainingWorkspace lost = new TrainingWorkspace(store, "stages/train/k", tmp.resolve("b"),
                LOST);
        assertThat(lost.publish(checkpoint(tmp.resolve("b"), 50), () -> { })).isNull();
        assertThat(live.latest()).contains("step-000010");
        assertThat(stored(store)).containsExactly("step-000010");
    }
}
