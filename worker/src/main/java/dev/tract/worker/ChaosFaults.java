package dev.tract.worker;

import dev.tract.activities.ActivityEnvironment;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Fault injection for chaos runs, read from {@code TRACT_CHAOS}: {@code halt-during-checkpoint=STAGE:STEP} stops the
 * process dead (as SIGKILL would) after the first file of that checkpoint is uploaded and before LATEST moves;
 * {@code halt-after-step=STAGE:STEP} stops it after the first step it trains at or past STEP;
 * {@code pause-during-checkpoint=STAGE:STEP} holds the upload of that checkpoint there for good (heartbeats go on),
 * {@code pause-after-step=STAGE:STEP} holds training after that step, and {@code pause-in-shard=KIND:SHARD} (KIND
 * cots or eval) holds that shard's first attempt inside its work, each
 * writing the file named by {@code TRACT_CHAOS_MARKER} when it does, so that a test can SIGKILL the worker from
 * outside in the middle of the write or the shard. Off unless set.
 */
public final class ChaosFaults implements ActivityEnvironment.Faults {
    private static final Logger LOG = LoggerFactory.getLogger(ChaosFaults.class);
    private final String kind;
    private final String stage;
    private final int step;

    private ChaosFaults(String kind, String stage, int step) {
        this.kind = kind;
        this.stage = stage;
        this.step = step;
    }

    /** The faults named by a TRACT_CHAOS value, or none. */
    public static ActivityEnvironment.Faults parse(String value) {
        if (value == null || value.isBlank()) {
            return ActivityEnvironment.Faults.NONE;
        }
        String[] kv = value.split("=", 2);
        String[] where = kv.length == 2 ? kv[1].split(":") : new String[0];
        if (kv.length != 2 || where.length != 2
                || !(kv[0].equals("halt-during-checkpoint") || kv[0].equals("halt-after-step")
                || kv[0].equals("pause-during-checkpoint") || kv[0].equals("pause-in-shard")
                || kv[0].equals("pause-after-step"))) {
            throw new IllegalArgumentException("TRACT_CHAOS='" + value + "': expected halt-during-checkpoint=STAGE:STEP, "
                    + "halt-after-step=STAGE:STEP, pause-during-checkpoint=STAGE:STEP, pause-after-step=STAGE:STEP or "
                    + "pause-in-shard=KIND:SHARD");
        }
        return new ChaosFaults(kv[0], where[0], Integer.parseInt(where[1]));
    }

    private void halt(String what) {
        LOG.warn("chaos: halting the worker {}", what);
        Runtime.getRuntime().halt(137);
    }

    @Override
    public void afterStep(String s, int attempt, int at) {
        if (kind.equals("halt-after-step") && s.equals(stage) && at >= step) {
            halt("after " + s + " step " + at);
        }
        if (kind.equals("pause-after-step") && s.equals(stage) && at >= step) {
            pause(s + " after step " + at, s + ":" + at);
        }
    }

    @Override
    public void duringCheckpointUpload(String s, int attempt, int at) {
        if (kind.equals("halt-during-checkpoint") && s.equals(stage) && at >= step) {
            halt("while uploading the " + s + " checkpoint of step " + at);
        }
        if (kind.equals("pause-during-checkpoint") && s.equals(stage) && at >= step) {
            pause("the upload of the " + s + " checkpoint of step " + at, s + ":" + at);
        }
    }

    @Override
    public void duringShard(String shardKind, int shard, int attempt) {
        if (kind.equals("pause-in-shard") && shardKind.equals(stage) && shard == step && attempt == 1) {
            pause(shardKind + " shard " + shard, shardKind + ":" + shard);
        }
    }

    /** Holds the calling activity thread for good (its heartbeats go on) after writing the marker file. */
    private static void pause(String what, String marker) {
        LOG.warn("chaos: pausing {} for good", what);
        String file = System.getenv("TRACT_CHAOS_MARKER");
        try {
            if (file != null) {
                java.nio.file.Files.writeString(java.nio.file.Path.of(file), marker);
            }
            while (true) {
                Thread.sleep(60_000);
            }
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
