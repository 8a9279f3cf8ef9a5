package dev.tract.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ModelCommandsTest {
    @TempDir
    static Path tmp;
    static Path model;

    @BeforeAll
    static void init() {
        model = tmp.resolve("tiny");
        CliRun run = CliRun.of("model", "init", "--preset", "tiny", "--out", model.toString(), "--seed", "3",
                "--json");
        assertThat(run.exitCode()).as(run.err()).isZero();
        JsonNode j = run.json();
        assertThat(j.get("preset").asText()).isEqualTo("tiny");
        assertThat(j.get("parameters").asLong()).isGreaterThan(10_000);
    }

    @Test
    void initWritesAHuggingFaceModelDirectory() {
        for (String f : new String[] {"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"}) {
            assertThat(model.resolve(f)).isRegularFile();
        }
    }

    @Test
    void generatePrintsTextAndSpeedAsJson() {
        CliRun a = CliRun.of("generate", "--model", model.toString(), "--prompt", "The response",
                "--max-new-tokens", "12", "--greedy", "--json");
        assertThat(a.exitCode()).as(a.err()).isZero();
        JsonNode j = a.json();
        assertThat(j.get("new_tokens").asInt()).isBetween(1, 12);
        assertThat(j.get("seconds").asDouble()).isPositive();
        assertThat(j.get("tokens_per_s").asDouble()).isPositive();
        assertThat(j.has("text")).isTrue();
        CliRun b = CliRun.of("generate", "--model", model.toString(), "--prompt", "The response",
                "--max-new-tokens", "12", "--greedy", "--no-cache", "--json");
        assertThat(b.json().get("text").asText()).isEqualTo(j.get("text").asText());
    }

    @Test
    void sampledGenerationIsReproducibleForASeed() {
        String[] args = {"generate", "--model", model.toString(), "--prompt", "The", "--max-new-tokens", "20",
            "--seed", "9", "--top-p", "0.9", "--json"};
        CliRun first = CliRun.of(args);
        CliRun second = CliRun.of(args);
        assertThat(first.exitCode()).as(first.err()).isZero();
        assertThat(second.exitCode()).as(second.err()).isZero();
        String text = first.json().get("text").asText();
        assertThat(text).isNotEmpty();
        assertThat(second.json().get("text").asText()).isEqualTo(text);
        args[8] = "10";
        CliRun otherSeed = CliRun.of(args);
        assertThat(otherSeed.exitCode()).as(otherSeed.err()).isZero();
        assertThat(otherSeed.json().get("text").asText()).as("another seed, another sample").isNotEqualTo(text);
    }

    @Test
    void logitsCoverTheVocabularyAtTheLastPosition() throws Exception {
        CliRun run = CliRun.of("logits", "--model", model.toString(), "--text", "So the overall score is", "--json");
        assertThat(run.exitCode()).as(run.err()).isZero();
        JsonNode j = run.json();
        JsonNode cfg = Json.MAPPER.readTree(model.resolve("config.json").toFile());
        assertThat(j.get("logits").size()).isEqualTo(cfg.get("vocab_size").asInt());
        assertThat(j.get("token_ids").size()).isGreaterThan(1);
    }

    @Test
    void missingModelDirectoryExitsTwoAndNamesIt() {
        CliRun run = CliRun.of("generate", "--model", tmp.resolve("absent").toString(), "--prompt", "x");
        assertThat(run.exitCode()).isEqualTo(2);
        assertThat(run.err()).contains("absent").contains("model directory not found");
        assertThat(run.out()).isEmpty();
    }

    @Test
    void configThatDoesNotMatchTheWeightsExitsTwo() throws Exception {
        Path bad = tmp.resolve("bad");
        Files.createDirectories(bad);
        for (String f : new String[] {"model.safetensors", "tokenizer.json", "tokenizer_config.json"}) {
            Files.copy(model.resolve(f), bad.resolve(f));
        }
        ObjectNode cfg = (ObjectNode) Json.MAPPER.readTree(model.resolve("config.json").toFile());
        cfg.put("num_key_value_heads", 4);
        Json.MAPPER.writeValue(bad.resolve("config.json").toFile(), cfg);
        CliRun run = CliRun.of("logits", "--model", bad.toString(), "--text", "x");
        assertThat(run.exitCode()).isEqualTo(2);
        assertThat(run.err()).contains("model.safetensors").contains("k_proj.weight")
                .contains("num_key_value_heads=4");
    }

    @Test
    void tokenizerWithoutSingleTokenDigitsExitsTwo() throws Exception {
        Path tok = tmp.resolve("wordlevel.json");
        Files.writeString(tok, """
                {"version":"1.0","added_tokens":[],"normalizer":null,
                 "pre_tokenizer":{"type":"Whitespace"},"post_processor":null,"decoder":null,
                 "model":{"type":"WordLevel","unk_token":"[UNK]","vocab":{"[UNK]":0,"So":1,"score":2}}}
                """);
        CliRun run = CliRun.of("model", "init", "--preset", "tiny", "--out", tmp.resolve("x").toString(),
                "--tokenizer", tok.toString());
        assertThat(run.exitCode()).isEqualTo(2);
        assertThat(run.err()).contains("wordlevel.json").contains("single-token digits");
    }

    @Test
    void badUsageExitsTwo() {
        assertThat(CliRun.of("generate", "--prompt", "x").exitCode()).isEqualTo(2);
        assertThat(CliRun.of("model", "init", "--preset", "huge", "--out", tmp.resolve("h").toString())
                .exitCode()).isEqualTo(2);
        assertThat(CliRun.of("generate", "--model", model.toString(), "--prompt", "x", "--top-p", "0")
                .exitCode()).isEqualTo(2);
    }
}
