package dev.tract.activities;

import dev.tract.activities.artifacts.CorruptArtifactException;
import dev.tract.judge.JudgeInputException;
import dev.tract.workflows.TractPipelineWorkflowImpl;
import dev.tract.workflows.spec.PipelineSpec;
import io.temporal.activity.Activity;
import io.temporal.failure.ApplicationFailure;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicBoolean;

/** Maps what an activity throws to Temporal failures: bad input is never retried, the rest is. */
final class Failures {
    private Failures() {}

    /**
     * Runs an activity's body heartbeating every few seconds from its first second, so that a worker that dies is
     * noticed after the heartbeat timeout rather than the start-to-close timeout.
     */
    static <T> T heartbeating(Callable<T> body) {
        try (Heartbeats beats = new Heartbeats(Activity.getExecutionContext(),
                Duration.ofSeconds(PipelineSpec.HEARTBEAT_INTERVAL_SECONDS), new AtomicBoolean(), null)) {
            return run(body);
        }
    }

    /**
     * A location this worker may not use: bad input, never retried (no worker of the same operator would use it),
     * and the pipeline fails with this message.
     */
    static ApplicationFailure refused(String message) {
        return ApplicationFailure.newNonRetryableFailure(message, TractPipelineWorkflowImpl.BAD_INPUT);
    }

    static <T> T run(Callable<T> body) {
        try {
            return body.call();
        } catch (JudgeInputException e) {
            throw ApplicationFailure.newNonRetryableFailure(e.getMessage(), TractPipelineWorkflowImpl.BAD_INPUT);
        } catch (CorruptArtifactException e) {
            // what is stored does not match its recorded sha256 (and no older copy served): a retry reads the same
            throw ApplicationFailure.newNonRetryableFailure(e.getMessage(), "CorruptArtifact");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (RuntimeException e) {
            throw e;
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
