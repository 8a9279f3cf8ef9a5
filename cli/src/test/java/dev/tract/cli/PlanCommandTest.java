package dev.tract.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tract.judge.JudgeInputException;
import dev.tract.judge.data.CanonicalJson;
import dev.tract.judge.data.SyntheticTask;
import dev.tract.judge.model.ModelInit;
import dev.tract.judge.model.Preset;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import dev.tract.judge.FixedHeapJvm;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** `tract plan`: what each stage will do and need, and whether it fits, before anything runs. */
class PlanCommandTest {
    @TempDir
    Path tmp;

    private Path spec(String seedModel, String method, String stage, int train, int test) throws Exception {
        CanonicalJson.write(tmp.resolve("train.jsonl"), SyntheticTask.generate(train, 1));
        CanonicalJson.write(tmp.resolve("test.jsonl"), SyntheticTask.generate(test, 2));
        Path spec = tmp.resolve("spec.yaml");
        Files.writeString(spec, """
                name: plan-test
                seed_model: %s
                train_data: train.jsonl
                eval_sets: [{name: synthetic, data: test.jsonl}]
                method: %s
                stage1: %s
                stage2: %s
                generation: {max_new_tokens: 48}
                n_cot: 3
                shard_size: 10
                """.formatted(seedModel, method, stage, stage));
        return spec;
    }

    @Test
    void plansEveryStageOfATractPipelineFromItsDataAndTheGivenThroughputs() throws Exception {
        Path spec = spec("{preset: tiny}", "tract", "{steps: 30, batch_size: 4, grad_accumulation: 2, "
                + "max_length: 320}", 40, 12);
        CliRun run = CliRun.of("plan", spec.toString(), "--json", "--train-tokens-per-s", "1000",
                "--generate-tokens-per-s", "100", "--workers", "2");
        assertThat(run.exitCode()).as(run.err()).isZero();
        JsonNode plan = run.json();
        List<String> names = new ArrayList<>();
        plan.get("stages").forEach(s -> names.add(s.get("name").asText()));
        assertThat(names).containsExactly("stage1", "cots", "stage2", "eval/synthetic");
        JsonNode s1 = plan.get("stages").get(0);
        assertThat(s1.get("examples").asInt()).isEqualTo(40);
        assertThat(s1.get("steps").asInt()).isEqualTo(30);
        // 30 steps of 2 micro-batches of 4 examples: every example is drawn, 240 drawn in all
        assertThat(s1.get("tokens").asLong()).isBetween(240L * 100, 240L * 320);
        assertThat(s1.get("padded_tokens").asLong()).isGreaterThanOrEqualTo(s1.get("tokens").asLong());
        assertThat(s1.get("seconds").asDouble()).isCloseTo(s1.get("tokens").asLong() / 1000.0, within(1e-6));
        JsonNode mem = s1.get("memory_bytes");
        // full fine-tuning: one gradient and two AdamW moments per parameter, float32
        long params = plan.get("parameters").asLong();
        assertThat(mem.get("weights").asLong()).isEqualTo(4 * params);
        assertThat(mem.get("gradients").asLong()).isEqualTo(4 * params);
        assertThat(mem.get("optimizer").asLong()).isEqualTo(8 * params);
        assertThat(mem.get("activations").asLong()).isPositive();
        assertThat(mem.get("kv_cache").asLong()).isZero();
        JsonNode cots = plan.get("stages").get(1);
        assertThat(cots.get("examples").asInt()).isEqualTo(40);
        assertThat(cots.get("new_tokens").asLong()).isBetween(40L, 40L * 48);
        assertThat(cots.get("memory_bytes").get("kv_cache").asLong()).isPositive();
        assertThat(cots.get("memory_bytes").get("gradients").asLong()).isZero();
        JsonNode eval = plan.get("stages").get(3);
        assertThat(eval.get("examples").asInt()).isEqualTo(12);
        // three feedbacks per example, each as long as the annotated ones on average
        assertThat(eval.get("new_tokens").asLong()).isEqualTo(Math.round(cots.get("new_tokens").asLong()
                * 3 * 12 / 40.0));
        assertThat(eval.get("notes").toString()).contains("2 shard(s) of 10 on 2 worker(s)");
        assertThat(plan.get("fits").asBoolean()).isTrue();
        assertThat(plan.get("seconds").asDouble()).isCloseTo(sum(plan, "seconds"), within(1e-6));
    }

    @Test
    void aStageThatDoesNotFitIsNamedWithSettingsThatDoAndThoseSettingsFit() throws Exception {
        Path model = tmp.resolve("small");
        ModelInit.init(Preset.SMALL, model, 0, null);
        Path spec = spec("{path: small}", "stage1-only", "{steps: 10, batch_size: 16, max_length: 320}", 40, 8);
        String[] args = {"plan", spec.toString(), "--gpu-memory", "700MiB", "--runtime-memory", "100MiB",
            "--no-measure"};
        CliRun text = CliRun.of(args);
        assertThat(text.exitCode()).as(text.err()).isZero();
        assertThat(text.out()).contains("WARNING: stage1 needs").contains("more than the 700 MiB of the device")
                .contains("stage1.batch_size");
        JsonNode plan = CliRun.of(concat(args, "--json")).json();
        assertThat(plan.get("fits").asBoolean()).isFalse();
        JsonNode s1 = plan.get("stages").get(0);
        assertThat(s1.get("fits").asBoolean()).isFalse();
        assertThat(s1.get("memory_bytes").get("peak").asLong()).isGreaterThan(700L << 20);
        String batchFix = null;
        for (JsonNode f : s1.get("settings_that_fit")) {
            if (f.asText().startsWith("stage1.batch_size")) {
                batchFix = f.asText();
            }
        }
        assertThat(batchFix).as(s1.toString()).isNotNull();
        // the suggested batch, planned again, fits, and keeps the examples per step
        int batch = Integer.parseInt(batchFix.replaceAll("stage1.batch_size (\\d+) .*", "$1"));
        int accumulation = Integer.parseInt(batchFix.replaceAll(".*grad_accumulation (\\d+) .*", "$1"));
        assertThat(batch * accumulation).isEqualTo(16);
        Files.writeString(spec, Files.readString(spec).replace("batch_size: 16",
                "batch_size: " + batch + ", grad_accumulation: " + accumulation));
        JsonNode again = CliRun.of(concat(args, "--json")).json();
        assertThat(again.get("stages").get(0).get("fits").asBoolean()).as(again.toString()).isTrue();
    }

    @Test
    void dataThePlanCannotReadHereIsNamedWithItsField() throws Exception {
        Path spec = spec("{preset: tiny}", "tract", "{steps: 5, max_length: 320}", 8, 4);
        Files.writeString(spec, Files.readString(spec).replace("train_data: train.jsonl",
                "train_data: s3://bucket/train.jsonl"));
        CliRun run = CliRun.of("plan", spec.toString(), "--no-measure");
        assertThat(run.exitCode()).isEqualTo(TractCli.EXIT_BAD_INPUT);
        assertThat(run.err()).contains("s3://bucket/train.jsonl").contains("train_data")
                .contains("local copy");
    }

    @Test
    void sizesAreReadAsGpuMemoryIsQuoted() {
        assertThat(Sizes.parse("80GiB", "--gpu-memory")).isEqualTo(80L << 30);
        assertThat(Sizes.parse("80G", "--gpu-memory")).isEqualTo(80L << 30);
        assertThat(Sizes.parse("40GB", "--gpu-memory")).isEqualTo(40_000_000_000L);
        assertThat(Sizes.parse("512mib", "--gpu-memory")).isEqualTo(512L << 20);
        assertThat(Sizes.parse("1.5TiB", "--gpu-memory")).isEqualTo(3L << 39);
        assertThatThrownBy(() -> Sizes.parse("eighty", "--gpu-memory")).isInstanceOf(JudgeInputException.class)
                .hasMessageContaining("80GiB");
    }

    /**
     * The estimate against the measured peak resident memory of the same training in a process of its own, for
     * the three presets and for LoRA. Both processes run with the same fixed, pre-touched Java heap, so that the heap counts the
     * same in both whatever the garbage collector does; every example is cut to max_length, so every batch is as
     * long as the longest.
     */
    @Test
    void theEstimateIsWithinTwentyPercentOfTheMeasuredPeakMemoryForEveryPresetAndWithLora() throws Exception {
        CanonicalJson.write(tmp.resolve("train.jsonl"), SyntheticTask.generate(48, 1));
        StringBuilder report = new StringBuilder();
        for (String run : new String[] {"tiny", "mini", "small", "mini+lora"}) {
            String preset = run.replace("+lora", "");
            boolean lora = run.endsWith("+lora");
            Path model = tmp.resolve(preset);
            if (!Files.exists(model)) {
                ModelInit.init(Preset.named(preset), model, 0, null);
            }
            int batch = preset.equals("small") ? 8 : 16;
            Path spec = tmp.resolve(preset + ".yaml");
            Files.writeString(spec, """
                    name: %s
                    seed_model: {path: %s}
                    train_data: train.jsonl
                    eval_sets: [{name: synthetic, data: train.jsonl}]
                    method: stage1-only
                    stage1: {steps: 4, batch_size: %d, max_length: 160%s}
                    generation: {max_new_tokens: 32}
                    """.formatted(preset, preset, batch, lora ? ", lora: {rank: 8, alpha: 16, dropout: 0.05}" : ""));
            JsonNode plan = Json.MAPPER.readTree(child("plan", spec.toString(), "--no-measure", "--json"));
            JsonNode stage1 = plan.get("stages").get(0);
            assertThat(stage1.get("longest").asInt()).isEqualTo(160);
            long estimate = stage1.get("memory_bytes").get("peak").asLong();
            JsonNode trained = Json.MAPPER.readTree(child("train", "--model", model.toString(), "--data",
                    tmp.resolve("train.jsonl").toString(), "--out", tmp.resolve("out-" + run).toString(),
                    "--steps", "4", "--batch-size", String.valueOf(batch), "--max-length", "160",
                    "--checkpoint-every", "2", "--json", "--lora-rank", lora ? "8" : "0", "--lora-alpha", "16",
                    "--lora-dropout", "0.05"));
            double measured = trained.get("peak_rss_mib").asDouble() * (1 << 20);
            report.append(String.format("%s: estimate %.0f MiB, measured %.0f MiB%n", run,
                    estimate / (double) (1 << 20), measured / (1 << 20)));
            assertThat(estimate / measured).as(report.toString()).isBetween(0.8, 1.2);
        }
        System.out.print(report);
    }

    /** Runs the command line in a JVM of its own with a fixed 256 MiB heap, touched at start; its standard output. */
    private String child(String... args) throws Exception {
        return FixedHeapJvm.run(tmp, TractCli.class, args);
    }

    private static double sum(JsonNode plan, String field) {
        double s = 0;
        for (JsonNode st : plan.get("stages")) {
            s += st.get(field).asDouble();
        }
        return s;
    }

    private static String[] concat(String[] a, String b) {
        String[] out = java.util.Arrays.copyOf(a, a.length + 1);
        out[a.length] = b;
        return out;
    }
}
