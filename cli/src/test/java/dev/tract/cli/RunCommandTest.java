package dev.tract.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** `tract run SPEC`: a spec file run on this machine, again from the cache, and resumed after Ctrl-C. */
class RunCommandTest {
    @TempDir
    Path tmp;

    private Path spec(int steps) throws Exception {
        Path data = tmp.resolve("spec/data");
        assertThat(CliRun.of("data", "synth", "--n", "40", "--seed", "1", "--out",
                data.resolve("train.jsonl").toString()).exitCode()).isZero();
        assertThat(CliRun.of("data", "synth", "--n", "12", "--seed", "2", "--out",
                data.resolve("test.jsonl").toString()).exitCode()).isZero();
        Path spec = tmp.resolve("spec/local.yaml");
        // relative paths are relative to the spec's folder
        Files.writeString(spec, """
                name: local-test
                seed_model: {preset: tiny, seed: 0}
                train_data: data/train.jsonl
                eval_sets:
                  - {name: synthetic, data: data/test.jsonl}
                method: tract
                stage1: {steps: %d, lr: 0.003, batch_size: 4, max_length: 320}
                stage2: {steps: 4, lr: 0.003, batch_size: 4, max_length: 320}
                generation: {max_new_tokens: 12}
                checkpoint: {every_steps: 2}
                seed: 0
                """.formatted(steps));
        return spec;
    }

    @Test
    void aSpecFileRunsHereAndASecondRunTakesEveryStageFromTheCache() throws Exception {
        Path spec = spec(4);
        Path runs = tmp.resolve("runs");
        CliRun first = CliRun.of("run", spec.toString(), "--runs", runs.toString());
        assertThat(first.exitCode()).as(first.err()).isZero();
        assertThat(first.out()).contains("== local-test:").contains("stage1").contains("Pearson")
                .contains("synthetic").contains("report: ");
        assertThat(first.err()).contains("artifacts in " + runs.toUri().toString().replaceAll("/$", ""));

        CliRun again = CliRun.of("run", spec.toString(), "--runs", runs.toString(), "--json");
        assertThat(again.exitCode()).as(again.err()).isZero();
        JsonNode r = again.json();
        assertThat(r.get("state").asText()).isEqualTo("COMPLETED");
        List<String> stages = new ArrayList<>();
        r.get("stages").forEach(s -> {
            stages.add(s.get("name").asText());
            // data preparation reads the files again; every stage after it comes from the store
            assertThat(s.get("cached").asBoolean()).as(s.get("name").asText() + " cached")
                    .isEqualTo(!s.get("name").asText().equals("prepare"));
        });
        assertThat(stages).containsExactly("prepare", "stage1", "cots", "stage2", "eval");
        JsonNode eval = r.get("evals").get(0);
        assertThat(eval.get("n").asInt()).isEqualTo(12);
        assertThat(Path.of(java.net.URI.create(r.get("reportUri").asText()))).exists();
    }

    @Test
    void ctrlCCheckpointsAndTheSameCommandContinuesFromTheCheckpoint() throws Exception {
        Path spec = spec(400);
        Path runs = tmp.resolve("runs");
        Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-cp",
                System.getProperty("java.class.path"), TractCli.class.getName(), "run", spec.toString(), "--runs",
                runs.toString()).redirectErrorStream(true).redirectOutput(tmp.resolve("first.log").toFile()).start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(240);
        while (latest(runs).isEmpty()) {
            assertThat(p.isAlive()).as(Files.readString(tmp.resolve("first.log"))).isTrue();
            assertThat(System.nanoTime()).as("a stage-1 checkpoint within 240 s").isLessThan(deadline);
            Thread.sleep(200);
        }
        p.destroy(); // SIGTERM, as Ctrl-C
        assertThat(p.waitFor(120, TimeUnit.SECONDS)).isTrue();
        String log = Files.readString(tmp.resolve("first.log"), StandardCharsets.UTF_8);
        assertThat(log).contains("the running stage checkpoints first")
                .contains("run the same command again to continue");

        CliRun again = CliRun.of("run", spec.toString(), "--runs", runs.toString(), "--json");
        assertThat(again.exitCode()).as(again.err()).isZero();
        JsonNode stage1 = null;
        for (JsonNode s : again.json().get("stages")) {
            if (s.get("name").asText().equals("stage1")) {
                stage1 = s;
            }
        }
        assertThat(stage1).isNotNull();
        assertThat(stage1.get("cached").asBoolean()).isFalse();
        assertThat(stage1.get("resumes").asInt()).as("stage 1 resumed from its checkpoint").isPositive();
        assertThat(stage1.get("steps").asInt()).isEqualTo(400);
    }

    /** The LATEST markers of training checkpoints under the artifact root so far. */
    private static List<Path> latest(Path runs) {
        Path train = runs.resolve("stages/train");
        try (Stream<Path> files = Files.walk(train)) {
            return files.filter(f -> f.getFileName().toString().equals("LATEST")).toList();
        } catch (Exception e) {
            return List.of(); // not there yet, or a file replaced while walking
        }
    }
}
