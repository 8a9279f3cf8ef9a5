package dev.tract.activities;

import dev.tract.judge.JudgeInputException;
import dev.tract.workflows.TractPipelineWorkflowImpl;
import io.temporal.failure.ApplicationFailure;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.concurrent.Callable;

/** Maps what an activity throws to Temporal failures: bad input is never retried, the rest is. */
final class Failures {
    private Failures() {}

    static <T> T run(Callable<T> body) {
        try {
            return body.call();
        } catch (JudgeInputException e) {
            throw ApplicationFailure.newNonRetryableFailure(e.getMessage(), TractPipelineWorkflowImpl.BAD_INPUT);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (RuntimeException e) {
            throw e;
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
