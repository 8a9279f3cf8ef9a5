package dev.tract.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tract.workflows.Values;
import dev.tract.workflows.spec.PipelineSpec;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Workers are separate JVMs, killed from outside with SIGKILL when a stage is observed running (through the
 * progress query, or a file the worker writes while a chaos setting holds it inside a checkpoint upload or a shard):
 * stage 1 during a checkpoint write and between checkpoints, CoT generation, stage 2 and evaluation; or stopped
 * with SIGTERM. A new worker process resumes each time. The pipeline completes with the same judge weights
 * (sha256) and metrics as an uninterrupted run.
 */
class KillTest {
    @TempDir
    static Path tmp;
    static ChaosHarness harness;
    static Values.PipelineResult baseline;
    static String baselineJudge;

    @BeforeAll
    static void reference() throws Exception {
        harness = new ChaosHarness(tmp);
        baseline = harness.baseline(harness.spec("runs-baseline"));
        baselineJudge = ChaosHarness.judgeDigest(baseline);
    }

    @AfterAll
    static void stop() {
        harness.close();
    }

    @org.junit.jupiter.api.AfterEach
    void stopWorkers() throws InterruptedException {
        harness.stopWorkers();
    }

    static final Duration MINUTE = Duration.ofMinutes(1);

    /** True once the condition holds, polled every 50 ms; false after the timeout. */
    static boolean until(java.util.function.BooleanSupplier condition, Duration timeout) throws InterruptedException {
        long end = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < end) {
            try {
                if (condition.getAsBoolean()) {
                    return true;
                }
            } catch (RuntimeException e) {
                // not started yet
            }
            Thread.sleep(50);
        }
        return false;
    }

    /** Waits for the pipeline's progress to satisfy a condition; on timeout the message shows the last progress. */
    static void observe(String id, java.util.function.Predicate<Values.Progress> condition, Duration timeout,
                        String what) throws InterruptedException {
        Values.Progress[] last = {null};
        boolean seen = harness.await(id, p -> {
            last[0] = p;
            return condition.test(p);
        }, timeout);
        assertThat(seen).as(what + " (last progress: " + last[0] + ")").isTrue();
    }

    /**
     * Shard activities of a stage workflow that ran more than once (their worker died): a retried activity's
     * started event, written when it ends, carries the attempt that finished it.
     */
    static long timedOutShards(String workflowId) {
        return harness.client().fetchHistory(workflowId).getEvents().stream()
                .filter(e -> e.hasActivityTaskStartedEventAttributes()
                        && e.getActivityTaskStartedEventAttributes().getAttempt() > 1).count();
    }

    /** SIGKILL from outside; the exit status says the signal did it. */
    static void sigkill(Process w) throws InterruptedException {
        ChaosHarness.kill(w);
        assertThat(w.exitValue()).as("killed by SIGKILL").isEqualTo(137);
    }

    @Test
    void sigkillInEveryStageAndDuringACheckpointWrite() throws Exception {
        PipelineSpec spec = harness.spec("runs-kill");
        String id = harness.start(spec, "kills");
        int interval = spec.checkpoint().everySteps();

        // stage 1, in the middle of a checkpoint write: the worker holds the upload of step 8 and says so in a file
        Path paused = tmp.resolve("paused");
        Process w = harness.startWorker(Map.of("TRACT_CHAOS", "pause-during-checkpoint=stage1:8",
                "TRACT_CHAOS_MARKER", paused.toString()));
        assertThat(until(() -> Files.exists(paused), Duration.ofMinutes(2))).as("the checkpoint write began").isTrue();
        sigkill(w);

        // stage 1 between checkpoints: the resumed attempt holds after step 10 (checkpoints every 4 steps)
        Path betweenCheckpoints = tmp.resolve("between-checkpoints");
        w = harness.startWorker(Map.of("TRACT_CHAOS", "pause-after-step=stage1:" + (2 * interval + 2),
                "TRACT_CHAOS_MARKER", betweenCheckpoints.toString()));
        assertThat(until(() -> Files.exists(betweenCheckpoints), Duration.ofMinutes(2)))
                .as("stage 1 training between checkpoints").isTrue();
        Values.Progress seen = harness.progress(id);
        assertThat(seen.stage()).as("the progress query sees stage 1 running").isEqualTo("stage1");
        sigkill(w);

        // CoT generation, inside a shard: the worker holds shard 1's first attempt there and says so in a file
        Path inCots = tmp.resolve("in-cots");
        w = harness.startWorker(Map.of("TRACT_CHAOS", "pause-in-shard=cots:1", "TRACT_CHAOS_MARKER",
                inCots.toString()));
        assertThat(until(() -> Files.exists(inCots), Duration.ofMinutes(2))).as("a CoT shard running").isTrue();
        sigkill(w);

        // stage 2, in the middle of a checkpoint write (stage 2 trains too fast here to be caught between
        // heartbeats; stage 1 above is the kill between checkpoints)
        Path inStage2 = tmp.resolve("in-stage2");
        w = harness.startWorker(Map.of("TRACT_CHAOS", "pause-during-checkpoint=stage2:8", "TRACT_CHAOS_MARKER",
                inStage2.toString()));
        assertThat(until(() -> Files.exists(inStage2), Duration.ofMinutes(2))).as("stage 2 training").isTrue();
        sigkill(w);

        // evaluation, inside a shard
        Path inEval = tmp.resolve("in-eval");
        w = harness.startWorker(Map.of("TRACT_CHAOS", "pause-in-shard=eval:0", "TRACT_CHAOS_MARKER",
                inEval.toString()));
        assertThat(until(() -> Files.exists(inEval), Duration.ofMinutes(2))).as("an evaluation shard running")
                .isTrue();
        sigkill(w);
        harness.startWorker(Map.of());
        Values.PipelineResult r = harness.result(id);

        assertThat(r.state()).isEqualTo("COMPLETED");
        assertThat(ChaosHarness.judgeDigest(r)).as("final weights equal the uninterrupted run's")
                .isEqualTo(baselineJudge);
        assertThat(ChaosCommand.sameMetrics(r, baseline)).as("metrics equal the uninterrupted run's").isTrue();
        Values.StageSummary stage1 = stage(r, "stage1");
        Values.StageSummary stage2 = stage(r, "stage2");
        assertThat(stage1.resumes()).as("stage 1 resumed after each of its two kills").isGreaterThanOrEqualTo(2);
        assertThat(stage2.resumes()).isGreaterThanOrEqualTo(1);
        assertThat(stage1.lostSteps()).as("at most one checkpoint interval per kill").isLessThanOrEqualTo(2 * interval);
        assertThat(stage2.lostSteps()).isLessThanOrEqualTo(interval);
        assertThat(stage2.resumeWaitSeconds()).isPositive();
        assertThat(timedOutShards(id + ".cots")).as("the killed CoT shard ran again").isPositive();
        assertThat(timedOutShards(id + ".eval.synthetic")).as("the killed evaluation shard ran again").isPositive();
        JsonNode report = Json.MAPPER.readTree(Files.readString(Path.of(java.net.URI.create(r.reportUri()))));
        assertThat(report.at("/stages/1/resumes").asInt()).isEqualTo(stage1.resumes());
        System.out.printf("kills: stage1 resumes %d lost %d steps %.2f s, stage2 resumes %d lost %d steps %.2f s, "
                + "resume waits %.1f s / %.1f s%n", stage1.resumes(), stage1.lostSteps(), stage1.lostSeconds(),
                stage2.resumes(), stage2.lostSteps(), stage2.lostSeconds(), stage1.resumeWaitSeconds(),
                stage2.resumeWaitSeconds());
    }

    @Test
    void sigtermCheckpointsAndTheRetryLosesNoStep() throws Exception {
        String id = harness.start(harness.spec("runs-term"), "term");
        Process w = harness.startWorker(Map.of());
        assertThat(harness.await(id, p -> p.stage().equals("stage1") && p.step() >= 10, MINUTE)).isTrue();
        double seconds = ChaosHarness.terminate(w, MINUTE);
        assertThat(seconds).as("SIGTERM to exit").isLessThan(30);
        harness.startWorker(Map.of());
        Values.PipelineResult r = harness.result(id);
        assertThat(r.state()).isEqualTo("COMPLETED");
        Values.StageSummary stage1 = stage(r, "stage1");
        assertThat(stage1.resumes()).isEqualTo(1);
        assertThat(stage1.lostSteps()).isZero();
        assertThat(ChaosHarness.judgeDigest(r)).isEqualTo(baselineJudge);
        System.out.printf("SIGTERM flush: worker exited %.2f s after SIGTERM%n", seconds);
    }

    static Values.StageSummary stage(Values.PipelineResult r, String name) {
        return r.stages().stream().filter(s -> s.name().equals(name)).findFirst().orElseThrow();
    }
}
