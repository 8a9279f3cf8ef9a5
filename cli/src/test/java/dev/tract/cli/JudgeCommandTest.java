package dev.tract.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tract.activities.tracking.FakeMlflowServer;
import dev.tract.activities.tracking.MlflowTracker;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** `tract judge`: an existing judge scores a dataset as a pipeline, with or without gold scores. */
class JudgeCommandTest {
    @TempDir
    static Path tmp;
    static Path model;
    static Path withGold;
    static Path withoutGold;

    @BeforeAll
    static void judgeAndData() throws Exception {
        model = tmp.resolve("judge");
        assertThat(CliRun.of("model", "init", "--preset", "tiny", "--out", model.toString()).exitCode()).isZero();
        withGold = tmp.resolve("with-gold.jsonl");
        assertThat(CliRun.of("data", "synth", "--n", "12", "--seed", "2", "--out", withGold.toString()).exitCode())
                .isZero();
        List<String> stripped = new ArrayList<>();
        for (String line : Files.readAllLines(withGold)) {
            ObjectNode n = (ObjectNode) Json.MAPPER.readTree(line);
            n.remove("scores");
            n.remove("feedbacks");
            stripped.add(n.toString());
        }
        withoutGold = tmp.resolve("new-responses.jsonl");
        Files.write(withoutGold, stripped);
    }

    private static CliRun judge(Path data, String... more) {
        return judgeWith(model.toString(), data, more);
    }

    private static CliRun judgeWith(String judge, Path data, String... more) {
        List<String> args = new ArrayList<>(List.of("judge", "--model", judge, "--data", data.toString(),
                "--runs", tmp.resolve("runs").toString(), "--max-length", "320", "--max-new-tokens", "12",
                "--shard-size", "5"));
        args.addAll(List.of(more));
        return CliRun.of(args.toArray(new String[0]));
    }

    private static List<JsonNode> predictions(JsonNode result) throws Exception {
        List<JsonNode> out = new ArrayList<>();
        for (String line : Files.readAllLines(Path.of(URI.create(
                result.get("evals").get(0).get("predictionsUri").asText())))) {
            out.add(Json.MAPPER.readTree(line));
        }
        return out;
    }

    @Test
    void dataWithGoldScoresGetsPredictionsAndCorrelations() throws Exception {
        CliRun run = judge(withGold, "--json");
        assertThat(run.exitCode()).as(run.err()).isZero();
        JsonNode r = run.json();
        assertThat(r.get("state").asText()).isEqualTo("COMPLETED");
        assertThat(r.get("judged").asInt()).isEqualTo(12);
        List<String> stages = new ArrayList<>();
        r.get("stages").forEach(s -> stages.add(s.get("name").asText()));
        assertThat(stages).as("nothing is trained").containsExactly("prepare", "eval");
        JsonNode eval = r.get("evals").get(0);
        assertThat(eval.get("n").asInt() + eval.get("nDropped").asInt()).isEqualTo(12);
        assertThat(eval.get("pearson").isNumber()).as(eval.toString()).isTrue();
        List<JsonNode> preds = predictions(r);
        assertThat(preds).hasSize(12);
        for (JsonNode p : preds) {
            assertThat(p.get("gold").isNumber()).isTrue();
            assertThat(p.get("probabilities")).hasSize(5);
            assertThat(p.get("feedbacks")).hasSize(1);
        }
        assertThat(Path.of(URI.create(r.get("reportUri").asText()))).exists();
    }

    @Test
    void dataWithoutGoldScoresGetsPredictionsOnly() throws Exception {
        CliRun run = judge(withoutGold);
        assertThat(run.exitCode()).as(run.err()).isZero();
        assertThat(run.out()).contains("judged 12 examples").contains("no gold scores in the data");
        CliRun again = judge(withoutGold, "--json");
        JsonNode r = again.json();
        JsonNode eval = r.get("evals").get(0);
        assertThat(eval.get("pearson").isNull()).isTrue();
        assertThat(r.get("stages").get(1).get("cached").asBoolean()).as("judged once, then from the store").isTrue();
        for (JsonNode p : predictions(r)) {
            assertThat(p.get("gold").isNull()).isTrue();
            assertThat(p.get("prediction").isNumber()).isTrue();
            assertThat(p.get("probabilities")).hasSize(5);
        }
    }

    @Test
    void aJudgeRegisteredInMlflowIsFoundByItsAliasAndItsMetricsAreRecorded() throws Exception {
        try (FakeMlflowServer mlflow = new FakeMlflowServer()) {
            MlflowTracker registry = new MlflowTracker(mlflow.uri(), "judges",
                    new MlflowTracker.Credentials(null, null, null, false));
            String run = registry.openRun("trained", "trained", null, Map.of());
            registry.registerModel("judge", model.toUri().toString(), run, "champion");
            CliRun r = judgeWith("models:/judge@champion", withGold, "--json", "--tracking-uri", mlflow.uri(),
                    "--experiment", "judged");
            assertThat(r.exitCode()).as(r.err()).isZero();
            assertThat(r.json().get("judged").asInt()).isEqualTo(12);
            assertThat(mlflow.violations()).isEmpty();
            assertThat(mlflow.runs().values()).anySatisfy(x -> assertThat(x.metrics).anySatisfy(
                    m -> assertThat(m.toString()).contains("pearson")));
            CliRun missing = judgeWith("models:/judge@nobody", withGold, "--tracking-uri", mlflow.uri());
            assertThat(missing.exitCode()).isEqualTo(TractCli.EXIT_BAD_INPUT);
            assertThat(missing.err()).contains("seed_model.uri").contains("nobody");
        }
    }

    @Test
    void aBadRecordIsNamedBeforeAnythingRuns() throws Exception {
        Path bad = tmp.resolve("bad.jsonl");
        List<String> lines = new ArrayList<>(Files.readAllLines(withoutGold));
        ObjectNode n = (ObjectNode) Json.MAPPER.readTree(lines.get(2));
        n.remove("response");
        lines.set(2, n.toString());
        Files.write(bad, lines);
        CliRun run = judge(bad);
        assertThat(run.exitCode()).isEqualTo(TractCli.EXIT_BAD_INPUT);
        assertThat(run.err()).contains(bad + ":3").contains("response");
    }
}
