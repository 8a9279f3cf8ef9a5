package dev.tract.worker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.tract.activities.ActivityEnvironment;
import dev.tract.activities.artifacts.LocalArtifactStore;
import dev.tract.workflows.Pipelines;
import dev.tract.workflows.ShardsWorkflowImpl;
import dev.tract.workflows.TractPipelineWorkflowImpl;
import dev.tract.workflows.Values;
import dev.tract.workflows.spec.Destinations;
import dev.tract.workflows.spec.PipelineSpec;
import io.temporal.api.common.v1.WorkflowExecution;
import io.temporal.client.WorkflowClient;
import io.temporal.client.WorkflowFailedException;
import io.temporal.common.WorkflowExecutionHistory;
import io.temporal.failure.ApplicationFailure;
import io.temporal.failure.CanceledFailure;
import io.temporal.testing.TestWorkflowEnvironment;
import io.temporal.testing.WorkflowReplayer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PipelineWorkflowTest {
    @TempDir
    Path tmp;
    TestWorkflowEnvironment env;
    WorkflowClient client;
    final List<String> steps = Collections.synchronizedList(new ArrayList<>());

    void start(ActivityEnvironment.Faults faults) {
        start(faults, 1);
    }

    void start(ActivityEnvironment.Faults faults, int concurrentActivities) {
        env = TestWorkflowEnvironment.newInstance();
        client = env.getWorkflowClient();
        WorkerConfig d = WorkerConfig.defaults("test").withWorkDir(tmp.resolve("work"));
        WorkerConfig config = new WorkerConfig(d.temporalAddress(), d.namespace(), d.taskQueues(),
                concurrentActivities, d.workDir(), d.device(), d.generationBatch(), d.shutdownGrace());
        ActivityEnvironment activities = new ActivityEnvironment(client, config.workDir(), "cpu", new AtomicBoolean(),
                8, (stage, attempt, step) -> {
                    steps.add(stage + "#" + attempt + ":" + step);
                    faults.afterStep(stage, attempt, step);
                });
        TractWorker.register(env.getWorkerFactory(), config, activities);
        env.start();
    }

    @AfterEach
    void stop() {
        if (env != null) {
            env.close();
        }
    }

    Values.PipelineResult run(PipelineSpec spec, String id) {
        Pipelines.start(client, spec, id);
        return Pipelines.result(client, id);
    }

    @Test
    void tractPipelineRunsEveryStageAndReplaysDeterministically() throws Exception {
        start(ActivityEnvironment.Faults.NONE);
        PipelineSpec spec = PipelineFixture.spec(tmp, "tract", 20);
        Values.PipelineResult r = run(spec, "happy");
        assertThat(r.state()).isEqualTo("COMPLETED");
        assertThat(r.stages()).extracting(Values.StageSummary::name)
                .containsExactly("prepare", "stage1", "cots", "stage2", "eval");
        assertThat(r.stages().get(2).steps()).as("CoTs generated").isEqualTo(20);
        Values.EvalOutcome eval = r.evals().get(0);
        assertThat(eval.evalSet()).isEqualTo("synthetic");
        assertThat(eval.n() + eval.nDropped()).isEqualTo(12);
        Path runs = tmp.resolve("runs");
        assertThat(runs.resolve("pipelines/happy/report.json")).isRegularFile();
        assertThat(runs.resolve("pipelines/happy/report.html")).isRegularFile();
        assertThat(runs.resolve("pipelines/happy/eval/synthetic/predictions.jsonl")).isRegularFile();
        assertThat(Files.readAllLines(runs.resolve("pipelines/happy/eval/synthetic/predictions.jsonl"))).hasSize(12);
        Values.Progress p = Pipelines.progress(client, "happy");
        assertThat(p.state()).isEqualTo("COMPLETED");
        assertThat(p.stagesDone()).hasSize(5);
        assertThat(steps).contains("stage1#1:6", "stage2#1:6");

        WorkflowExecutionHistory history = client.fetchHistory("happy");
        WorkflowReplayer.replayWorkflowExecution(history, TractPipelineWorkflowImpl.class);
        WorkflowExecutionHistory cots = client.fetchHistory("happy.cots");
        WorkflowReplayer.replayWorkflowExecution(cots, ShardsWorkflowImpl.class);
        // a release keeps its histories as test resources (HistoryReplayTest): -Dtract.historiesOut=DIR writes them
        String out = System.getProperty("tract.historiesOut");
        if (out != null) {
            Files.writeString(Path.of(out, "pipeline-tract.json"), history.toJson(true));
            Files.writeString(Path.of(out, "shards-cots.json"), cots.toJson(true));
        }
    }

    @Test
    void aFailedTrainingAttemptResumesFromItsCheckpoint() throws Exception {
        start((stage, attempt, step) -> {
            if (stage.equals("stage1") && attempt == 1 && step == 5) {
                // an exception in the attempt, not a process kill (those are in the command line's KillTest)
                throw new IllegalStateException("injected failure after step 5");
            }
        });
        PipelineSpec spec = PipelineFixture.spec(tmp, "stage1-only", 16);
        Values.PipelineResult r = run(spec, "failed-attempt");
        assertThat(r.state()).isEqualTo("COMPLETED");
        List<String> stage1 = steps.stream().filter(s -> s.startsWith("stage1")).toList();
        assertThat(stage1).containsExactly("stage1#1:1", "stage1#1:2", "stage1#1:3", "stage1#1:4", "stage1#1:5",
                "stage1#2:5", "stage1#2:6");
        Values.StageSummary s1 = r.stages().get(1);
        assertThat(s1.attempts()).isEqualTo(2);
        assertThat(s1.resumes()).isEqualTo(1);
        assertThat(s1.lostSteps()).isEqualTo(1);
    }

    /**
     * A step that never returns (a stuck collective, a wedged driver) keeps the JVM and its heartbeat thread alive;
     * the watchdog stops the heartbeats once no step completes within the bound, the attempt times out and the
     * retry resumes from the newest checkpoint.
     */
    @Test
    void aHungStepIsDetectedAndTheStageResumesInANewAttempt() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        CountDownLatch zombieReturned = new CountDownLatch(1);
        System.setProperty("tract.stallMinSeconds", "1");
        try {
            // two slots: the hung attempt keeps one, as it would keep a GPU, and the retry takes the other
            start((stage, attempt, step) -> {
                if (stage.equals("stage1") && attempt == 1 && step == 5) {
                    try {
                        release.await(120, TimeUnit.SECONDS);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                    zombieReturned.countDown(); // the step returns after all, long after its attempt was replaced
                }
            }, 2);
            PipelineSpec spec = PipelineFixture.spec(tmp, "stage1-only", 16, 8, "heartbeat_timeout_seconds: 10\n");
            long start = System.nanoTime();
            Values.PipelineResult r = run(spec, "hung");
            double seconds = (System.nanoTime() - start) / 1e9;
            assertThat(r.state()).isEqualTo("COMPLETED");
            List<String> stage1 = steps.stream().filter(s -> s.startsWith("stage1")).toList();
            assertThat(stage1).startsWith("stage1#1:1", "stage1#1:2", "stage1#1:3", "stage1#1:4", "stage1#1:5")
                    .contains("stage1#2:5", "stage1#2:8").doesNotContain("stage1#1:6");
            assertThat(r.stages().get(1).attempts()).isEqualTo(2);
            assertThat(seconds).as("given up after the stall bound and the heartbeat timeout, not the 7-day "
                    + "start-to-close timeout").isLessThan(60);

            // the zombie: its step returns, it stops at once and publishes nothing (no checkpoint of step 5)
            Path checkpoints = Path.of(java.net.URI.create(r.stages().get(1).outputUri())).getParent()
                    .resolve("checkpoints");
            String latest = Files.readString(checkpoints.resolve("LATEST")).strip();
            release.countDown();
            assertThat(zombieReturned.await(30, TimeUnit.SECONDS)).isTrue();
            Thread.sleep(3000);
            assertThat(Files.readString(checkpoints.resolve("LATEST")).strip()).isEqualTo(latest).endsWith(
                    "step-000008");
            try (var files = Files.walk(checkpoints)) {
                assertThat(files.map(f -> f.getFileName().toString())).doesNotContain("step-000005");
            }
            // and the judge is the one a single clean run makes
            Files.createDirectories(tmp.resolve("clean"));
            Values.PipelineResult clean = run(PipelineFixture.spec(tmp.resolve("clean"), "stage1-only", 16, 8,
                    "heartbeat_timeout_seconds: 10\n"), "hung-clean");
            assertThat(Files.readAllBytes(Path.of(java.net.URI.create(r.stages().get(1).outputUri()))
                    .resolve("model.safetensors"))).isEqualTo(Files.readAllBytes(Path.of(java.net.URI.create(
                    clean.stages().get(1).outputUri())).resolve("model.safetensors")));
        } finally {
            System.clearProperty("tract.stallMinSeconds");
            release.countDown();
        }
    }

    /**
     * Fetching a large checkpoint, model and data can take longer than the heartbeat timeout; the attempt heartbeats
     * from its first second, so it is not timed out (before, loading ran ahead of the heartbeats and every attempt
     * timed out the same way).
     */
    @Test
    void aTrainingAttemptWhoseLoadingOutlastsTheHeartbeatTimeoutIsNotTimedOut() throws Exception {
        ActivityEnvironment.Faults slowLoading = new ActivityEnvironment.Faults() {
            @Override
            public void afterStep(String stage, int attempt, int step) {}

            @Override
            public void beforeLoading(String stage, int attempt) {
                if (stage.equals("stage1")) {
                    try {
                        Thread.sleep(22_000); // more than twice the 10 s heartbeat timeout
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                }
            }
        };
        env = TestWorkflowEnvironment.newInstance();
        client = env.getWorkflowClient();
        WorkerConfig config = WorkerConfig.defaults("test").withWorkDir(tmp.resolve("work"));
        TractWorker.register(env.getWorkerFactory(), config, new ActivityEnvironment(client, config.workDir(), "cpu",
                new AtomicBoolean(), 8, slowLoading));
        env.start();
        PipelineSpec spec = PipelineFixture.spec(tmp, "stage1-only", 8, 4, "heartbeat_timeout_seconds: 10\n");
        Values.PipelineResult r = run(spec, "slow-loading");
        assertThat(r.state()).isEqualTo("COMPLETED");
        assertThat(r.stages().get(1).attempts()).as("one attempt: not timed out while loading").isEqualTo(1);
    }

    /**
     * A spot fleet hands a long stage from worker to worker many times: each preemption notice (SIGTERM) makes the
     * attempt checkpoint and hand its task back. Hand-offs are not failures, so 60 of them in one stage, more than the
     * failure budget of 50, do not fail the pipeline.
     */
    @Test
    void sixtyPreemptionHandOffsInOneStageDoNotFailThePipeline() throws Exception {
        AtomicBoolean shuttingDown = new AtomicBoolean();
        env = TestWorkflowEnvironment.newInstance();
        client = env.getWorkflowClient();
        WorkerConfig config = WorkerConfig.defaults("test").withWorkDir(tmp.resolve("work"));
        TractWorker.register(env.getWorkerFactory(), config, new ActivityEnvironment(client, config.workDir(), "cpu",
                shuttingDown, 8, (stage, attempt, step) -> {
                    steps.add(stage + "#" + attempt + ":" + step);
                    if (stage.equals("stage1") && attempt <= 60) {
                        shuttingDown.set(true); // the preemption notice: this attempt checkpoints and hands off
                    }
                }));
        env.start();
        Thread notices = new Thread(() -> {
            while (!Thread.currentThread().isInterrupted()) {
                if (shuttingDown.get()) {
                    try {
                        Thread.sleep(100);
                    } catch (InterruptedException e) {
                        return;
                    }
                    shuttingDown.set(false); // the next worker of the fleet is up
                }
                Thread.onSpinWait();
            }
        });
        notices.setDaemon(true);
        notices.start();
        try {
            PipelineSpec spec = PipelineFixture.spec(tmp, "stage1-only", 8, 70);
            Values.PipelineResult r = run(spec, "spot");
            assertThat(r.state()).isEqualTo("COMPLETED");
            Values.StageSummary s1 = r.stages().get(1);
            assertThat(s1.attempts()).as("60 hand-offs (and refusals by a worker still shutting down)")
                    .isGreaterThan(60);
            assertThat(s1.lostSteps()).as("every hand-off checkpointed first").isZero();
            assertThat(steps.stream().filter(x -> x.startsWith("stage1")).count()).as("each step trained once")
                    .isEqualTo(70);
        } finally {
            notices.interrupt();
        }
    }

    /** A cached stage whose stored model no longer matches its recorded digest is trained again, not reused. */
    @Test
    void aCachedStageWhoseModelChangedIsTrainedAgain() throws Exception {
        start(ActivityEnvironment.Faults.NONE);
        PipelineSpec spec = PipelineFixture.spec(tmp, "stage1-only", 12);
        Values.PipelineResult first = run(spec, "first");
        Path weights = Path.of(java.net.URI.create(first.stages().get(1).outputUri())).resolve("model.safetensors");
        byte[] w = Files.readAllBytes(weights);
        w[w.length / 2] ^= 1;
        Files.write(weights, w);
        Values.PipelineResult second = run(spec, "second");
        assertThat(second.stages().get(1).cached()).as("stage 1 made again (from its last checkpoint)").isFalse();
        assertThat(second.evals().get(0).pearson()).isEqualTo(first.evals().get(0).pearson());
        assertThat(Files.readAllBytes(weights)).as("the stored model is whole again").isNotEqualTo(w);
    }

    /**
     * Checkpoints under a stage's key that belong to another run (the code changed, or an input the key misses):
     * the stage starts again cleanly instead of failing for good in the folder its own key chose.
     */
    @Test
    void checkpointsOfAnotherRunUnderAStagesKeyMakeItStartAgain() throws Exception {
        start(ActivityEnvironment.Faults.NONE);
        PipelineSpec spec = PipelineFixture.spec(tmp, "stage1-only", 12);
        Values.PipelineResult clean = run(spec, "clean");
        String stage = clean.stages().get(1).outputUri().replaceAll(".*/(stages/train/[^/]+)/model$", "$1");
        // another run's checkpoints in this stage's folder, and no finished output
        PipelineSpec otherSpec = PipelineFixture.spec(tmp, "stage1-only", 12, 8);
        Values.PipelineResult foreign = run(otherSpec, "foreign");
        String foreignStage = foreign.stages().get(1).outputUri().replaceAll(".*/(stages/train/[^/]+)/model$", "$1");
        try (LocalArtifactStore store = new LocalArtifactStore(tmp.resolve("runs"))) {
            store.deletePrefix(stage);
            store.getDirectory(foreignStage + "/checkpoints", tmp.resolve("foreign-checkpoints"));
            store.putDirectory(stage + "/checkpoints", tmp.resolve("foreign-checkpoints"));
        }
        Values.PipelineResult again = run(spec, "again");
        assertThat(again.state()).isEqualTo("COMPLETED");
        assertThat(again.stages().get(1).cached()).isFalse();
        assertThat(again.evals().get(0).pearson()).as("the same judge as the clean run")
                .isEqualTo(clean.evals().get(0).pearson());
    }

    /**
     * Two pipelines submitted with the same spec at once share every stage folder: both complete, with the same
     * judge, and the stage holds one output whose LATEST names a complete checkpoint.
     */
    @Test
    void twoIdenticalPipelinesSubmittedTogetherBothCompleteWithOneSetOfOutputs() throws Exception {
        start((stage, attempt, step) -> {
            try {
                Thread.sleep(150); // long enough steps that the two trainings overlap
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, 2);
        PipelineSpec spec = PipelineFixture.spec(tmp, "stage1-only", 12, 20);
        Pipelines.start(client, spec, "twin-a");
        Pipelines.start(client, spec, "twin-b");
        Values.PipelineResult a = Pipelines.result(client, "twin-a");
        Values.PipelineResult b = Pipelines.result(client, "twin-b");
        assertThat(a.state()).isEqualTo("COMPLETED");
        assertThat(b.state()).isEqualTo("COMPLETED");
        assertThat(b.stages().get(1).outputUri()).isEqualTo(a.stages().get(1).outputUri());
        assertThat(b.evals().get(0).pearson()).isEqualTo(a.evals().get(0).pearson());
        assertThat(steps.stream().filter(s -> s.startsWith("stage1")).count()).as("both trained, side by side")
                .isGreaterThan(20);
        for (String id : List.of("twin-a", "twin-b")) {
            assertThat(client.fetchHistory(id).getEvents().stream().filter(e -> e.hasActivityTaskStartedEventAttributes())
                    .mapToInt(e -> e.getActivityTaskStartedEventAttributes().getAttempt()))
                    .as(id + ": no activity failed and was retried").containsOnly(1);
        }
        Path stage = Path.of(java.net.URI.create(a.stages().get(1).outputUri())).getParent();
        String latest = Files.readString(stage.resolve("checkpoints/LATEST")).strip();
        assertThat(latest).endsWith("/step-000020");
        assertThat(stage.resolve("checkpoints").resolve(latest).resolve("MANIFEST.json")).isRegularFile();
    }

    /** A stored dataset that changed after it was prepared is refused by the shard that reads it, naming it. */
    @Test
    void aStoredDatasetThatChangedIsRefusedByItsReader() throws Exception {
        start(ActivityEnvironment.Faults.NONE);
        PipelineSpec spec = PipelineFixture.spec(tmp, "stage1-only", 12);
        Values.PipelineResult first = run(spec, "first");
        com.fasterxml.jackson.databind.JsonNode report = new com.fasterxml.jackson.databind.ObjectMapper().readTree(
                tmp.resolve("runs/pipelines/first/report.json").toFile());
        Path file = Path.of(java.net.URI.create(report.at("/data/evalSets/0/uri").asText()));
        assertThat(first.state()).isEqualTo("COMPLETED");
        List<String> lines = new ArrayList<>(Files.readAllLines(file));
        lines.set(0, lines.get(0).replaceFirst("\\d", "9"));
        Files.write(file, lines);
        PipelineSpec reseeded = PipelineFixture.spec(tmp, "stage1-only", 12, 6, "seed: 5\n");
        assertThatThrownBy(() -> run(reseeded, "second")).isInstanceOf(WorkflowFailedException.class)
                .rootCause().hasMessageContaining(file.getFileName().toString()).hasMessageContaining("does not "
                        + "match the recorded");
    }

    @Test
    void badDataFailsAtOnceNamingTheRecordAndField() throws Exception {
        start(ActivityEnvironment.Faults.NONE);
        PipelineSpec spec = PipelineFixture.spec(tmp, "tract", 10);
        List<String> lines = new ArrayList<>(Files.readAllLines(tmp.resolve("train.jsonl")));
        lines.set(3, lines.get(3).replace("\"scores\":[", "\"scores\":[6,"));
        Files.write(tmp.resolve("train.jsonl"), lines);
        WorkflowExecution ex = Pipelines.start(client, spec, "bad");
        assertThatThrownBy(() -> Pipelines.result(client, "bad")).isInstanceOf(WorkflowFailedException.class)
                .cause().isInstanceOf(ApplicationFailure.class)
                .hasMessageContaining(tmp.resolve("train.jsonl") + ":4").hasMessageContaining("scores[0]")
                .hasMessageContaining("outside 1-5");
        long attempts = client.fetchHistory(ex.getWorkflowId()).getEvents().stream()
                .filter(e -> e.hasActivityTaskStartedEventAttributes()).count();
        assertThat(attempts).isEqualTo(1);
    }

    /**
     * A worker enforces its own destinations whatever reaches it (a spec started on Temporal directly, past the API):
     * training data outside its data roots fails the pipeline at once, not retried, saying only that it is outside.
     */
    @Test
    void aWorkerRefusesDataOutsideItsDestinationsWhateverTheSpecSays() throws Exception {
        PipelineSpec spec = PipelineFixture.spec(tmp, "stage1-only", 10);
        env = TestWorkflowEnvironment.newInstance();
        client = env.getWorkflowClient();
        WorkerConfig config = WorkerConfig.defaults("test").withWorkDir(tmp.resolve("work"));
        Files.createDirectories(tmp.resolve("datasets"));
        TractWorker.register(env.getWorkerFactory(), config, new ActivityEnvironment(client, config.workDir(), "cpu",
                new AtomicBoolean(), 8, ActivityEnvironment.Faults.NONE).withDestinations(Destinations.of(
                        List.of(tmp.resolve("datasets").toString()), List.of(spec.artifactRoot()), List.of())));
        env.start();
        WorkflowExecution ex = Pipelines.start(client, spec, "outside");
        assertThatThrownBy(() -> Pipelines.result(client, "outside")).isInstanceOf(WorkflowFailedException.class)
                .cause().hasMessageContaining("outside the allowed data roots").hasMessageNotContaining("not found");
        long attempts = client.fetchHistory(ex.getWorkflowId()).getEvents().stream()
                .filter(e -> e.hasActivityTaskStartedEventAttributes()).count();
        assertThat(attempts).isEqualTo(1);
    }

    @Test
    void resubmittingTheSameSpecReusesFinishedStages() throws Exception {
        start(ActivityEnvironment.Faults.NONE);
        PipelineSpec spec = PipelineFixture.spec(tmp, "tract", 12);
        Values.PipelineResult first = run(spec, "first");
        int trained = steps.size();
        Values.PipelineResult second = run(spec, "second");
        assertThat(steps).hasSize(trained);
        assertThat(second.stages()).filteredOn(s -> List.of("stage1", "cots", "stage2").contains(s.name()))
                .allSatisfy(s -> assertThat(s.cached()).as(s.name()).isTrue());
        assertThat(first.stages()).filteredOn(s -> s.name().equals("stage1")).allSatisfy(s -> assertThat(s.cached())
                .isFalse());
        assertThat(second.evals().get(0).pearson()).isEqualTo(first.evals().get(0).pearson());
    }

    @Test
    void cancellationStopsTrainingAfterACheckpointAndKeepsWhatWasProduced() throws Exception {
        AtomicBoolean reached = new AtomicBoolean();
        start((stage, attempt, step) -> {
            if (stage.equals("stage1") && step >= 3) {
                reached.set(true);
                try {
                    Thread.sleep(300);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        });
        PipelineSpec spec = PipelineFixture.spec(tmp, "tract", 12, 200);
        Pipelines.start(client, spec, "cancel");
        while (!reached.get()) {
            Thread.sleep(50);
        }
        Pipelines.cancel(client, "cancel");
        assertThatThrownBy(() -> Pipelines.result(client, "cancel")).isInstanceOf(WorkflowFailedException.class)
                .cause().isInstanceOf(CanceledFailure.class);
        Path runs = tmp.resolve("runs");
        Map<String, Object> report = new com.fasterxml.jackson.databind.ObjectMapper()
                .readValue(runs.resolve("pipelines/cancel/report.json").toFile(), Map.class);
        assertThat(report.get("state")).isEqualTo("CANCELLED");
        try (var s = Files.walk(runs.resolve("stages/train"))) {
            assertThat(s.filter(f -> f.getFileName().toString().equals("LATEST")).count()).isEqualTo(1);
        }
        assertThat(steps.stream().filter(x -> x.startsWith("stage1")).count()).isLessThan(200);
    }
}
