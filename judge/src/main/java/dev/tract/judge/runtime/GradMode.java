package dev.tract.judge.runtime;

import ai.djl.ndarray.NDArray;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;

/**
 * PyTorch's autograd switch is thread-local and is on by default in every thread but the one that loaded the
 * engine. Inference code wraps itself in {@link #disabled()} so that no graph is recorded (and no memory held)
 * whichever thread it runs on. Training wraps each forward and backward in {@link #recording()} and calls
 * {@link #backward(NDArray)}: unlike DJL's {@code GradientCollector}, of which only one may be open in a process,
 * these touch only the calling thread, so one worker can train two models side by side.
 */
public final class GradMode implements AutoCloseable {
    private final boolean previous;

    private GradMode(boolean enabled) {
        previous = JniUtils.isGradMode();
        JniUtils.setGradMode(enabled);
    }

    /** Turns gradient recording off for the current thread until closed. */
    public static GradMode disabled() {
        return new GradMode(false);
    }

    /** Turns gradient recording on for the current thread until closed. */
    public static GradMode recording() {
        return new GradMode(true);
    }

    /** Accumulates the gradient of the scalar {@code loss} into every array it was computed from that requires one. */
    public static void backward(NDArray loss) {
        try (NDArray ones = loss.onesLike()) {
            JniUtils.backward((PtNDArray) loss, (PtNDArray) ones, false, false);
        }
    }

    @Override
    public void close() {
        JniUtils.setGradMode(previous);
    }
}
