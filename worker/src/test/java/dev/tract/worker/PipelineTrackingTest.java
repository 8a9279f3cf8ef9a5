package dev.tract.worker;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tract.activities.ActivityEnvironment;
import dev.tract.activities.tracking.FakeMlflowServer;
import dev.tract.workflows.Pipelines;
import dev.tract.workflows.Values;
import dev.tract.workflows.spec.PipelineSpec;
import io.temporal.testing.TestWorkflowEnvironment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A pipeline tracked in MLflow (a server checking MLflow's REST contract), and its report. */
class PipelineTrackingTest {
    @TempDir
    Path tmp;
    TestWorkflowEnvironment env;
    FakeMlflowServer mlflow;
    volatile ActivityEnvironment.Faults faults = ActivityEnvironment.Faults.NONE;

    @BeforeEach
    void start() throws Exception {
        mlflow = new FakeMlflowServer();
        env = TestWorkflowEnvironment.newInstance();
        WorkerConfig config = WorkerConfig.defaults("test").withWorkDir(tmp.resolve("work"));
        TractWorker.register(env.getWorkerFactory(), config, new ActivityEnvironment(env.getWorkflowClient(),
                config.workDir(), "cpu", new AtomicBoolean(), 8, (stage, attempt, step) -> faults.afterStep(stage,
                attempt, step)));
        env.start();
    }

    @AfterEach
    void stop() {
        env.close();
        mlflow.close();
    }

    PipelineSpec spec() throws Exception {
        return PipelineFixture.spec(tmp, "tract", 12, 6, """
                tracking: {uri: "%s", experiment: judges, registered_model: tiny-judge, alias: champion}
                """.formatted(mlflow.uri()));
    }

    @Test
    void aFailedPipelineStillWritesItsReportAndClosesItsRunsAsFailed() throws Exception {
        faults = (stage, attempt, step) -> {
            if (stage.equals("stage2") && step == 2) {
                throw io.temporal.failure.ApplicationFailure.newNonRetryableFailure("the GPU fell off the bus",
                        "Hardware");
            }
        };
        Pipelines.start(env.getWorkflowClient(), spec(), "failing");
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> Pipelines.result(env.getWorkflowClient(),
                "failing")).isInstanceOf(io.temporal.client.WorkflowFailedException.class);
        JsonNode report = new ObjectMapper().readTree(tmp.resolve("runs/pipelines/failing/report.json").toFile());
        assertThat(report.get("state").asText()).isEqualTo("FAILED");
        assertThat(report.get("failure").asText()).contains("the GPU fell off the bus");
        assertThat(report.at("/stages").size()).as("the stages done before the failure").isEqualTo(3);
        assertThat(report.at("/history/events").asLong()).isPositive();
        assertThat(mlflow.runs().values()).isNotEmpty().allSatisfy(x -> assertThat(x.info.get("status").asText())
                .as(x.tags.get("mlflow.runName")).isEqualTo("FAILED"));
        assertThat(mlflow.violations()).isEmpty();
    }

    @Test
    void everyStageIsARunOfThePipelineRunAndTheJudgeIsRegistered() throws Exception {
        Pipelines.start(env.getWorkflowClient(), spec(), "tracked", "alice");
        Values.PipelineResult r = Pipelines.result(env.getWorkflowClient(), "tracked");
        assertThat(r.state()).isEqualTo("COMPLETED");
        assertThat(mlflow.violations()).isEmpty();
        Map<String, FakeMlflowServer.Run> runs = mlflow.runs();
        FakeMlflowServer.Run parent = runs.values().stream().filter(x -> !x.tags.containsKey("mlflow.parentRunId"))
                .findFirst().orElseThrow();
        String parentId = parent.info.get("run_id").asText();
        assertThat(parent.tags).containsEntry("temporal.workflowId", "tracked").containsKey("data.digest")
                .as("the name of the API token that submitted it").containsEntry("tract.submitter", "alice");
        assertThat(parent.params).containsEntry("stage1.lr", "0.005").containsEntry("method", "tract");
        assertThat(parent.inputs).hasSize(2);
        Map<String, FakeMlflowServer.Run> children = runs.values().stream()
                .filter(x -> parentId.equals(x.tags.get("mlflow.parentRunId")))
                .collect(Collectors.toMap(x -> x.tags.get("mlflow.runName"), x -> x));
        assertThat(children).containsOnlyKeys("stage1", "cots", "stage2", "eval/synthetic");
        List<Long> steps = children.get("stage1").metrics.stream().filter(m -> m.get("key").asText()
                .equals("train/loss")).map(m -> m.get("step").asLong()).toList();
        assertThat(steps).containsExactly(1L, 2L, 3L, 4L, 5L, 6L);
        assertThat(children.get("eval/synthetic").metrics).anyMatch(m -> m.get("key").asText()
                .equals("eval/synthetic/rmse"));
        assertThat(runs.values()).allSatisfy(x -> assertThat(x.info.get("status").asText()).isEqualTo("FINISHED"));
        assertThat(mlflow.aliases("tiny-judge")).containsEntry("champion", "1");
        assertThat(mlflow.versions("tiny-judge").get(0).get("source").asText()).isEqualTo("runs:/" + parentId
                + "/judge");
        assertThat(mlflow.artifacts().keySet()).anyMatch(k -> k.endsWith("report/report.html"))
                .anyMatch(k -> k.endsWith("judge/model.safetensors"));
        assertThat(r.trackingUrls().get("pipeline")).startsWith(mlflow.uri() + "/#/experiments/");
        assertThat(mlflow.requests().size()).as("requests for a whole pipeline: batched").isLessThan(150);

        Path report = tmp.resolve("runs/pipelines/tracked");
        assertThat(Files.size(report.resolve("eval/synthetic/scatter.png"))).isGreaterThan(1000);
        assertThat(Files.size(report.resolve("loss-stage1.png"))).isGreaterThan(1000);
        String html = Files.readString(report.resolve("report.html"));
        assertThat(html).contains("<img src=\"eval/synthetic/scatter.png\"").contains("loss-stage2.png")
                .contains(mlflow.uri());
        JsonNode json = new ObjectMapper().readTree(report.resolve("report.json").toFile());
        assertThat(json.at("/figures/scatter/synthetic/gold").size()).isEqualTo(json.at("/evals/0/n").asInt());
        assertThat(json.at("/figures/loss/stage1/loss/step").size()).isEqualTo(6);
        assertThat(json.at("/figures/loss/stage1/loss/smoothed").size()).isEqualTo(6);

        // the quality of the judge's own feedbacks: counted from predictions.jsonl here, independently
        List<JsonNode> predictions = Files.readAllLines(report.resolve("eval/synthetic/predictions.jsonl")).stream()
                .filter(l -> !l.isBlank()).map(PipelineTrackingTest::json).toList();
        long feedbacks = predictions.stream().mapToLong(p -> p.get("feedbacks").size()).sum();
        long correct = predictions.stream().flatMap(p -> java.util.stream.StreamSupport.stream(p.get("correct")
                .spliterator(), false)).filter(JsonNode::asBoolean).count();
        long wellFormed = predictions.stream().flatMap(p -> java.util.stream.StreamSupport.stream(
                p.get("well_formed").spliterator(), false)).filter(JsonNode::asBoolean).count();
        assertThat(feedbacks).isEqualTo(predictions.size());
        assertThat(metric(children.get("eval/synthetic"), "eval/synthetic/cot_correct"))
                .isEqualTo((double) correct / feedbacks);
        assertThat(metric(children.get("eval/synthetic"), "eval/synthetic/cot_well_formed"))
                .isEqualTo((double) wellFormed / feedbacks);
        assertThat(json.at("/evals/0/quality/checked").asLong()).isEqualTo(feedbacks);
        assertThat(json.at("/evals/0/quality/correct").asLong()).isEqualTo(correct);
        Values.CotQuality cots = r.stages().stream().filter(x -> x.name().equals("cots")).findFirst().orElseThrow()
                .quality();
        assertThat(cots.feedbacks()).isEqualTo(12);
        assertThat(cots.checked()).isEqualTo(12);
        assertThat(metric(children.get("cots"), "cots/correct")).isEqualTo(cots.correctShare());
        assertThat(metric(children.get("cots"), "cots/well_formed")).isEqualTo(cots.wellFormedShare());
        // beside each of the examples shown, what the judge wrote and what the annotators wrote
        JsonNode samples = json.at("/figures/samples/synthetic");
        assertThat(samples.size()).isEqualTo(6);
        assertThat(samples).allSatisfy(x -> assertThat(x.get("annotated").asText()).matches("a\\) \\d+ > .*"));
        assertThat(html).contains("What the judge wrote").contains(samples.get(0).get("annotated").asText()
                .replace(">", "&gt;"));
        System.out.printf("MLflow requests for the pipeline: %d; report.html %d bytes, report.json %d bytes%n",
                mlflow.requests().size(), Files.size(report.resolve("report.html")),
                Files.size(report.resolve("report.json")));
    }

    private static JsonNode json(String line) {
        try {
            return new ObjectMapper().readTree(line);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /** The one value a run logged for a metric. */
    private static double metric(FakeMlflowServer.Run run, String key) {
        List<Double> values = run.metrics.stream().filter(m -> m.get("key").asText().equals(key))
                .map(m -> m.get("value").asDouble()).toList();
        assertThat(values).as(key).hasSize(1);
        return values.get(0);
    }

    @Test
    void anMlflowOutageNeverFailsThePipelineAndTheReportSaysSo() throws Exception {
        mlflow.setDown(true);
        Pipelines.start(env.getWorkflowClient(), spec(), "outage");
        Values.PipelineResult r = Pipelines.result(env.getWorkflowClient(), "outage");
        assertThat(r.state()).isEqualTo("COMPLETED");
        assertThat(r.evals()).hasSize(1);
        assertThat(r.trackingFailures()).isPositive();
        String html = Files.readString(tmp.resolve("runs/pipelines/outage/report.html"));
        assertThat(html).contains("tracking call(s) could not be logged");
        assertThat(Files.exists(tmp.resolve("runs/pipelines/outage/eval/synthetic/scatter.png"))).isTrue();
    }
}
