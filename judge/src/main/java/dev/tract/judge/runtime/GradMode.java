package dev.tract.judge.runtime;

import ai.djl.pytorch.jni.JniUtils;

/**
 * PyTorch's autograd switch is thread-local and is on by default in every thread but the one that loaded the
 * engine. Inference code wraps itself in {@link #disabled()} so that no graph is recorded (and no memory held)
 * whichever thread it runs on.
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

    @Override
    public void close() {
        JniUtils.setGradMode(previous);
    }
}
