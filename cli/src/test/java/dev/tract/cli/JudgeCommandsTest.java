package dev.tract.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** data, train, score and correlate through the command line, on a tiny model. */
class JudgeCommandsTest {
    static final Path VICUNA = Path.of("../judge/src/test/resources/data/vicuna-bench/vicuna_eval.json");

    @TempDir
    static Path tmp;
    static Path model;
    static Path train;
    static Path test;
    static Path trained;

    @BeforeAll
    static void setUp() {
        model = tmp.resolve("tiny");
        train = tmp.resolve("train.jsonl");
        test = tmp.resolve("test.jsonl");
        trained = tmp.resolve("trained");
        assertThat(CliRun.of("model", "init", "--preset", "tiny", "--out", model.toString()).exitCode()).isZero();
        assertThat(CliRun.of("data", "synth", "--n", "60", "--seed", "1", "--out", train.toString()).exitCode())
                .isZero();
        assertThat(CliRun.of("data", "synth", "--n", "10", "--seed", "2", "--out", test.toString()).exitCode())
                .isZero();
        CliRun run = CliRun.of("train", "--model", model.toString(), "--data", train.toString(), "--objective",
                "cot-raft", "--out", trained.toString(), "--steps", "6", "--batch-size", "4", "--lr", "5e-3",
                "--max-length", "300", "--checkpoint-every", "3", "--json");
        assertThat(run.exitCode()).as(run.err()).isZero();
        JsonNode j = run.json();
        assertThat(j.get("steps").asInt()).isEqualTo(6);
        assertThat(j.get("tokens_per_s").asDouble()).isPositive();
        assertThat(j.get("stopped").asBoolean()).isFalse();
    }

    @Test
    void trainWritesAModelMetricsAndCheckpoints() throws Exception {
        for (String f : new String[] {"config.json", "model.safetensors", "tokenizer.json", "train_summary.json",
            "checkpoints/LATEST", "checkpoints/step-000006/MANIFEST.json"}) {
            assertThat(trained.resolve(f)).isRegularFile();
        }
        List<String> metrics = Files.readAllLines(trained.resolve("metrics.jsonl"));
        assertThat(metrics).hasSize(6);
        JsonNode last = Json.MAPPER.readTree(metrics.get(5));
        assertThat(last.get("step").asInt()).isEqualTo(6);
        assertThat(last.get("raft_loss").asDouble()).isPositive();
        assertThat(last.get("ce_loss").asDouble()).isPositive();
        CliRun again = CliRun.of("train", "--model", model.toString(), "--data", train.toString(), "--objective",
                "cot-raft", "--out", trained.toString(), "--steps", "6", "--batch-size", "4", "--lr", "5e-3",
                "--max-length", "300", "--checkpoint-every", "3", "--resume", "--json");
        assertThat(again.exitCode()).as(again.err()).isZero();
        assertThat(again.json().get("resumed_from").asInt()).isEqualTo(6);
        assertThat(again.json().get("tokens").asLong()).isZero();
    }

    @Test
    void loraTrainingWritesAPeftAdapterAndAMergedModel() {
        Path out = tmp.resolve("lora");
        CliRun run = CliRun.of("train", "--model", model.toString(), "--data", train.toString(), "--objective", "ce",
                "--out", out.toString(), "--steps", "2", "--batch-size", "4", "--lora-rank", "4", "--lora-targets",
                "q_proj,v_proj", "--max-length", "300", "--json");
        assertThat(run.exitCode()).as(run.err()).isZero();
        assertThat(out.resolve("adapter/adapter_config.json")).isRegularFile();
        assertThat(out.resolve("adapter/adapter_model.safetensors")).isRegularFile();
        assertThat(out.resolve("model.safetensors")).isRegularFile();
    }

    @Test
    void scoreWritesOneLinePerExampleAndCorrelateAgrees() throws Exception {
        Path pred = tmp.resolve("pred.jsonl");
        CliRun run = CliRun.of("score", "--model", trained.toString(), "--data", test.toString(), "--mode",
                "cot-rail", "--n-cot", "2", "--max-new-tokens", "20", "--out", pred.toString(), "--json");
        assertThat(run.exitCode()).as(run.err()).isZero();
        List<String> lines = Files.readAllLines(pred);
        assertThat(lines).hasSize(10);
        JsonNode first = Json.MAPPER.readTree(lines.get(0));
        assertThat(first.get("feedbacks").size()).isEqualTo(2);
        assertThat(first.get("predictions").size()).isEqualTo(2);
        assertThat(first.get("probabilities").size()).isEqualTo(5);
        assertThat(first.has("gold")).isTrue();
        JsonNode metrics = run.json().get("metrics");
        CliRun corr = CliRun.of("correlate", pred.toString(), "--json");
        assertThat(corr.exitCode()).isZero();
        assertThat(corr.json().get("pearson").asDouble()).isEqualTo(metrics.get("pearson").asDouble());
        // and both equal Pearson's r computed here from the prediction file
        double[] g = new double[lines.size()];
        double[] y = new double[lines.size()];
        for (int i = 0; i < lines.size(); i++) {
            JsonNode l = Json.MAPPER.readTree(lines.get(i));
            g[i] = l.get("gold").asDouble();
            y[i] = l.get("prediction").asDouble();
        }
        double gm = java.util.Arrays.stream(g).average().orElseThrow();
        double ym = java.util.Arrays.stream(y).average().orElseThrow();
        double sgy = 0;
        double sgg = 0;
        double syy = 0;
        for (int i = 0; i < g.length; i++) {
            sgy += (g[i] - gm) * (y[i] - ym);
            sgg += (g[i] - gm) * (g[i] - gm);
            syy += (y[i] - ym) * (y[i] - ym);
        }
        assertThat(metrics.get("pearson").asDouble()).isCloseTo(sgy / Math.sqrt(sgg * syy),
                org.assertj.core.api.Assertions.within(1e-9));
        assertThat(corr.json().get("n").asInt()).isEqualTo(10);
        assertThat(corr.json().get("ci").get("kendall").size()).isEqualTo(2);
    }

    @Test
    void correlateCountsDroppedPredictionsAndNamesBadLines() throws Exception {
        Path f = tmp.resolve("c.jsonl");
        Files.writeString(f, "{\"gold\": 1, \"prediction\": 1.2}\n{\"gold\": 2, \"prediction\": null}\n"
                + "{\"gold\": 3, \"prediction\": 2.9}\n{\"gold\": 4, \"prediction\": 4.4}\n");
        JsonNode j = CliRun.of("correlate", f.toString(), "--json").json();
        assertThat(j.get("n").asInt()).isEqualTo(3);
        assertThat(j.get("n_dropped").asInt()).isEqualTo(1);
        assertThat(j.get("pearson").asDouble()).isGreaterThan(0.9);
        Files.writeString(f, "{\"gold\": 1, \"prediction\": 1.2}\n{\"prediction\": 2}\n");
        CliRun bad = CliRun.of("correlate", f.toString(), "--json");
        assertThat(bad.exitCode()).isEqualTo(2);
        assertThat(bad.err()).contains(f + ":2").contains("gold");
    }

    @Test
    void dataCheckReportsEveryProblemAsJsonAndExitsTwo() throws Exception {
        Path bad = tmp.resolve("bad.jsonl");
        List<String> lines = Files.readAllLines(train).subList(0, 3);
        Files.write(bad, List.of(lines.get(0), lines.get(1).replace("\"scores\":[", "\"scores\":[9,"), "{oops",
                lines.get(0)));
        CliRun run = CliRun.of("data", "check", bad.toString(), "--json");
        assertThat(run.exitCode()).isEqualTo(2);
        JsonNode j = run.json();
        assertThat(j.get("valid").asInt()).isEqualTo(1);
        assertThat(j.get("invalid").asInt()).isEqualTo(3);
        assertThat(j.get("errors").toString()).contains(bad + ":2").contains("scores[0]").contains(bad + ":3")
                .contains(bad + ":4").contains("duplicate id");
        assertThat(CliRun.of("data", "check", train.toString()).exitCode()).isZero();
    }

    @Test
    void convertTurnsVicunaBenchIntoCanonicalJsonl() throws Exception {
        Path out = tmp.resolve("vicuna.jsonl");
        CliRun run = CliRun.of("data", "convert", VICUNA.toString(), "--out", out.toString(), "--json");
        assertThat(run.exitCode()).as(run.err()).isZero();
        assertThat(run.json().get("n").asInt()).isEqualTo(320);
        JsonNode check = CliRun.of("data", "check", out.toString(), "--json").json();
        assertThat(check.get("digest").asText()).isEqualTo(run.json().get("digest").asText());
        assertThat(check.get("shapes").get("canonical").asInt()).isEqualTo(320);
    }
}
