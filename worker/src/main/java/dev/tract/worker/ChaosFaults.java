package dev.tract.worker;

import dev.tract.activities.ActivityEnvironment;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Fault injection for chaos runs, read from {@code TRACT_CHAOS}: {@code halt-during-checkpoint=STAGE:STEP} stops the
 * process dead (as SIGKILL would) after the first file of that checkpoint is uploaded and before LATEST moves;
 * {@code halt-after-step=STAGE:STEP} stops it after the first step it trains at or past STEP. Off unless set.
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
                || !(kv[0].equals("halt-during-checkpoint") || kv[0].equals("halt-after-step"))) {
            throw new IllegalArgumentException("TRACT_CHAOS='" + value + "': expected halt-during-checkpoint=STAGE:STEP "
                    + "or halt-after-step=STAGE:STEP");
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
    }

    @Override
    public void duringCheckpointUpload(String s, int attempt, int at) {
        if (kind.equals("halt-during-checkpoint") && s.equals(stage) && at >= step) {
            halt("while uploading the " + s + " checkpoint of step " + at);
        }
    }
}
