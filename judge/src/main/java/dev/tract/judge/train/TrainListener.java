package dev.tract.judge.train;

import java.nio.file.Path;

/** Callbacks from a training run; every method does nothing by default. */
public interface TrainListener {
    default void onStep(StepMetrics metrics) {}

    /** A checkpoint was written completely and LATEST points at it. */
    default void onCheckpoint(int step, Path checkpoint) {}

    /** Training resumed from a checkpoint. */
    default void onResume(int step, Path checkpoint) {}

    TrainListener NONE = new TrainListener() {};
}
