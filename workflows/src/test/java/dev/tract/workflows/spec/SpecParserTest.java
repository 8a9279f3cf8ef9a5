package dev.tract.workflows.spec;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

class SpecParserTest {
    static final Path BASE = Path.of("/specs");

    @Test
    void minimalSpecGetsTheDefaults() {
        PipelineSpec s = SpecParser.parse("""
                train_data: train.jsonl
                eval_sets: [{name: test, data: test.jsonl}]
                """, BASE, "file:///runs");
        assertThat(s.name()).isEqualTo("pipeline");
        assertThat(s.method()).isEqualTo("tract");
        assertThat(s.seedModel().preset()).isEqualTo("small");
        assertThat(s.trainData()).isEqualTo("/specs/train.jsonl");
        assertThat(s.evalSets().get(0).data()).isEqualTo("/specs/test.jsonl");
        assertThat(s.generation()).isEqualTo(new PipelineSpec.Generation(1.0, 0.9, 1.03, 1024));
        // the defaults work together: max_length leaves room for a prompt beside max_new_tokens
        assertThat(s.stage1().maxLength()).isEqualTo(2048);
        assertThat(s.stage1().maxLength() - s.generation().maxNewTokens() - SpecParser.GENERATION_SUFFIX)
                .isGreaterThanOrEqualTo(SpecParser.MIN_PROMPT_TOKENS);
        assertThat(s.stage1().lambda()).isEqualTo(1.0);
        assertThat(s.stage1().lora().rank()).isZero();
        assertThat(s.taskQueues()).isEqualTo(new PipelineSpec.TaskQueues("tract-gpu", "tract-cpu"));
        assertThat(s.heartbeatTimeoutSeconds()).isEqualTo(60);
        assertThat(s.artifactRoot()).isEqualTo("file:///runs");
    }

    @Test
    void jsonIsAcceptedAndEqualSpecsHaveEqualDigests() {
        PipelineSpec yaml = SpecParser.parse("train_data: t.jsonl\neval_sets: [{name: a, data: a.jsonl}]\n"
                + "stage1: {lr: 0.0001, lora: {rank: 8}}\n", BASE, "file:///runs");
        PipelineSpec json = SpecParser.parse("{\"stage1\": {\"lora\": {\"rank\": 8}, \"lr\": 1e-4}, "
                + "\"eval_sets\": [{\"name\": \"a\", \"data\": \"a.jsonl\"}], \"train_data\": \"t.jsonl\"}", BASE,
                "file:///runs");
        assertThat(json).isEqualTo(yaml);
        assertThat(SpecParser.digest(json)).isEqualTo(SpecParser.digest(yaml)).hasSize(64);
        assertThat(yaml.stage1().lora().alpha()).isEqualTo(16.0);
        PipelineSpec other = SpecParser.parse("train_data: t.jsonl\neval_sets: [{name: a, data: a.jsonl}]\n",
                BASE, "file:///runs");
        assertThat(SpecParser.digest(other)).isNotEqualTo(SpecParser.digest(yaml));
    }

    @Test
    void everyInvalidFieldIsNamedByItsPath() {
        assertThatThrownBy(() -> SpecParser.parse("""
                name: "../etc"
                method: magic
                eval_sets:
                  - {name: test, data: t.jsonl}
                  - {name: test, data: u.jsonl}
                  - {name: "a/b", data: v.jsonl}
                stage1: {lr: 2.0, batch_size: 0, lora: {rank: 4, targets: [q_proj, attn]}}
                stage2: {epochs: 0}
                generation: {top_p: 1.5}
                scoring: vibes
                artifact_root: ftp://host/x
                seed_model: {preset: huge}
                shard_size: -1
                stage3: {}
                """, BASE, "file:///runs")).isInstanceOf(SpecException.class).satisfies(e -> {
                    List<String> fields = ((SpecException) e).errors().stream().map(SpecException.FieldError::field)
                            .toList();
                    assertThat(fields).contains("name", "train_data", "method", "eval_sets[1].name",
                            "eval_sets[2].name", "stage1.lr", "stage1.batch_size", "stage1.lora.targets",
                            "stage2.epochs", "generation.top_p", "scoring", "artifact_root", "seed_model.preset",
                            "shard_size", "stage3");
                    assertThat(e.getMessage()).contains("stage1.lr: must be in").contains("'magic' is not one of");
                });
    }

    /**
     * Generation reserves max_new_tokens out of max_length: a max_length that leaves no room for a prompt is refused
     * at once, naming both fields, for every stage whose model generates; a method without feedback generates
     * nothing and is not held to it.
     */
    @Test
    void aMaxLengthThatLeavesNoRoomForThePromptIsRefusedNamingBothFields() {
        String data = "train_data: t.jsonl\neval_sets: [{name: a, data: a.jsonl}]\n";
        assertThatThrownBy(() -> SpecParser.parse(data + "stage1: {max_length: 512}\nstage2: {max_length: 1100}\n",
                BASE, "file:///runs")).isInstanceOf(SpecException.class).satisfies(e -> {
                    List<SpecException.FieldError> errors = ((SpecException) e).errors();
                    assertThat(errors).extracting(SpecException.FieldError::field)
                            .containsExactly("stage1.max_length", "stage2.max_length");
                    assertThat(errors.get(0).message()).contains("512").contains("generation.max_new_tokens (1024)")
                            .contains("-544 tokens").contains("at least 1120");
                    assertThat(errors.get(1).message()).contains("44 tokens for the prompt");
                });
        assertThat(SpecParser.parse(data + "stage1: {max_length: 512}\ngeneration: {max_new_tokens: 256}\n", BASE,
                "file:///runs").stage1().maxLength()).isEqualTo(512);
        assertThat(SpecParser.parse(data + "method: raft\nstage1: {max_length: 512}\n", BASE, "file:///runs")
                .method()).isEqualTo("raft");
        // stage-1 only never generates from stage 2's settings
        assertThat(SpecParser.parse(data + "method: stage1-only\nstage2: {max_length: 512}\n", BASE,
                "file:///runs").method()).isEqualTo("stage1-only");
    }

    /** Heartbeats come every 5 s: a timeout of 5 s would time out an attempt for one late heartbeat. */
    @Test
    void aHeartbeatTimeoutUnderTwiceTheHeartbeatIntervalIsRefused() {
        String data = "train_data: t.jsonl\neval_sets: [{name: a, data: a.jsonl}]\n";
        assertThatThrownBy(() -> SpecParser.parse(data + "heartbeat_timeout_seconds: 5\n", BASE, "file:///runs"))
                .isInstanceOf(SpecException.class).hasMessageContaining("heartbeat_timeout_seconds: must be at least "
                        + "10 (twice the 5 s heartbeat interval");
        assertThat(SpecParser.parse(data + "heartbeat_timeout_seconds: 10\n", BASE, "file:///runs")
                .heartbeatTimeoutSeconds()).isEqualTo(10);
    }

    @Test
    void missingDataAndBrokenYamlAreReported() {
        assertThatThrownBy(() -> SpecParser.parse("name: x\n", BASE, "file:///runs"))
                .isInstanceOf(SpecException.class).hasMessageContaining("train_data: is required")
                .hasMessageContaining("eval_sets: at least one evaluation set is required");
        assertThatThrownBy(() -> SpecParser.parse("name: [unclosed\n", BASE, "file:///runs"))
                .isInstanceOf(SpecException.class).hasMessageContaining("(document)");
    }
}
