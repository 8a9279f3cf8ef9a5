package dev.tract.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tract.workflows.Values;
import dev.tract.workflows.spec.PipelineSpec;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Workers are separate JVMs, killed with SIGKILL during stage 1 (while writing a checkpoint), CoT generation,
 * stage 2 and evaluation, or stopped with SIGTERM; a new worker process resumes each time. The pipeline completes
 * with the same judge weights (sha256) and metrics as an uninterrupted run.
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

    @Test
    void sigkillInEveryStageAndDuringACheckpointWrite() throws Exception {
        PipelineSpec spec = harness.spec("runs-kill");
        String id = harness.start(spec, "kills");
        Process w = harness.startWorker(Map.of("TRACT_CHAOS", "halt-during-checkpoint=stage1:8"));
        assertThat(w.waitFor(2, TimeUnit.MINUTES)).as("the worker dies while writing a checkpoint").isTrue();
        assertThat(w.exitValue()).isEqualTo(137);
        w = harness.startWorker(Map.of());
        assertThat(harness.await(id, p -> p.stage().equals("cots") && p.shardsDone() >= 1, MINUTE)).isTrue();
        ChaosHarness.kill(w);
        w = harness.startWorker(Map.of("TRACT_CHAOS", "halt-after-step=stage2:22"));
        assertThat(w.waitFor(2, TimeUnit.MINUTES)).as("the worker dies in the middle of stage 2").isTrue();
        w = harness.startWorker(Map.of());
        assertThat(harness.await(id, p -> p.stage().equals("eval"), MINUTE)).isTrue();
        Thread.sleep(1000);
        ChaosHarness.kill(w);
        harness.startWorker(Map.of());
        Values.PipelineResult r = harness.result(id);

        assertThat(r.state()).isEqualTo("COMPLETED");
        assertThat(ChaosHarness.judgeDigest(r)).as("final weights equal the uninterrupted run's")
                .isEqualTo(baselineJudge);
        assertThat(ChaosCommand.sameMetrics(r, baseline)).as("metrics equal the uninterrupted run's").isTrue();
        Values.StageSummary stage1 = stage(r, "stage1");
        Values.StageSummary stage2 = stage(r, "stage2");
        assertThat(stage1.resumes()).isGreaterThanOrEqualTo(1);
        assertThat(stage2.resumes()).isGreaterThanOrEqualTo(1);
        int interval = spec.checkpoint().everySteps();
        assertThat(stage1.lostSteps()).as("at most one checkpoint interval").isLessThanOrEqualTo(interval);
        assertThat(stage2.lostSteps()).isLessThanOrEqualTo(interval);
        assertThat(stage2.resumeWaitSeconds()).isPositive();
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
