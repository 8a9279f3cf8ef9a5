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

    /** writer/step of every complete stored checkpoint, in step order. */
    private List<String> stored(LocalArtifactStore store) throws Exception {
        return store.list("stages/train/k/checkpoints").stream().filter(k -> k.endsWith(Checkpointer.MANIFEST))
                .map(k -> k.split("/")[4] + "/" + k.split("/")[5]).sorted(TrainingWorkspace.BY_STEP).toList();
    }

    private TrainingWorkspace workspace(LocalArtifactStore store, String writer, Lease lease) {
        return new TrainingWorkspace(store, "stages/train/k", tmp.resolve(writer), lease, writer);
    }

    @Test
    void latestOnlyMovesForwardAndPruningKeepsWhatItNames() throws Exception {
        LocalArtifactStore store = new LocalArtifactStore(tmp.resolve("store"));
        TrainingWorkspace fast = workspace(store, "wa", LIVE);
        TrainingWorkspace zombie = workspace(store, "wb", LIVE);
        fast.publish(checkpoint(tmp.resolve("wa"), 10), () -> { });
        fast.publish(checkpoint(tmp.resolve("wa"), 20), () -> { });
        fast.publish(checkpoint(tmp.resolve("wa"), 30), () -> { });
        assertThat(fast.latest()).contains("wa/step-000030");
        // the slower attempt is still at step 12 and 14: LATEST stays, and its pruning spares step 30
        zombie.publish(checkpoint(tmp.resolve("wb"), 12), () -> { });
        assertThat(zombie.latest()).contains("wa/step-000030");
        zombie.publish(checkpoint(tmp.resolve("wb"), 14), () -> { });
        assertThat(zombie.latest()).contains("wa/step-000030");
        assertThat(stored(store)).containsExactly("wa/step-000020", "wa/step-000030");
        // each writer in its own folder: the other attempt's newer checkpoint moves LATEST forward
        zombie.publish(checkpoint(tmp.resolve("wb"), 35), () -> { });
        assertThat(zombie.latest()).contains("wb/step-000035");
        fast.publish(checkpoint(tmp.resolve("wa"), 40), () -> { });
        assertThat(fast.latest()).contains("wa/step-000040");
        assertThat(stored(store)).containsExactly("wb/step-000035", "wa/step-000040");
    }

    /** Two writers publishing at once, many times: LATEST is never seen going backwards and ends at the newest. */
    @Test
    void racingWritersNeverMoveLatestBackwards() throws Exception {
        LocalArtifactStore store = new LocalArtifactStore(tmp.resolve("store"));
        TrainingWorkspace even = workspace(store, "we", LIVE);
        TrainingWorkspace odd = workspace(store, "wo", LIVE);
        java.util.concurrent.atomic.AtomicBoolean done = new java.util.concurrent.atomic.AtomicBoolean();
        List<Integer> seen = java.util.Collections.synchronizedList(new java.util.ArrayList<>());
        Thread sampler = new Thread(() -> {
            while (!done.get()) {
                try {
                    even.latest().ifPresent(l -> seen.add(Integer.parseInt(l.substring(l.lastIndexOf('-') + 1))));
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            }
        });
        sampler.start();
        Thread a = new Thread(() -> publishAll(even, "we", 2));
        Thread b = new Thread(() -> publishAll(odd, "wo", 1));
        a.start();
        b.start();
        a.join();
        b.join();
        done.set(true);
        sampler.join();
        assertThat(even.latest()).contains("we/step-000060");
        assertThat(seen).as("LATEST as seen while they raced").isNotEmpty().isSorted();
    }

    private void publishAll(TrainingWorkspace w, String writer, int first) {
        try {
            for (int step = first; step <= 60; step += 2) {
                w.publish(checkpoint(tmp.resolve(writer), step), () -> { });
            }
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    @Test
    void anAttemptThatLostItsLeasePublishesNothing() throws Exception {
        LocalArtifactStore store = new LocalArtifactStore(tmp.resolve("store"));
        TrainingWorkspace live = workspace(store, "wa", LIVE);
        live.publish(checkpoint(tmp.resolve("wa"), 10), () -> { });
        assertThat(workspace(store, "wb", LOST).publish(checkpoint(tmp.resolve("wb"), 50), () -> { })).isNull();
        assertThat(live.latest()).contains("wa/step-000010");
        assertThat(stored(store)).containsExactly("wa/step-000010");
    }
}
