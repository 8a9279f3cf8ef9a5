package dev.tract.judge.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.Device;
import ai.djl.ndarray.types.DataType;
import ai.djl.pytorch.jni.JniUtils;
import dev.tract.judge.JudgeInputException;
import dev.tract.judge.TestModels;
import dev.tract.judge.data.PromptTemplate;
import dev.tract.judge.data.SyntheticTask;
import dev.tract.judge.model.Checkpoints;
import dev.tract.judge.model.LlamaModel;
import dev.tract.judge.runtime.EngineThreads;
import dev.tract.judge.tokenizer.JudgeTokenizer;
import dev.tract.judge.tokenizer.ScoreTokens;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class TrainerTest {
    @TempDir
    Path tmp;

    private static String weightsDigest(Path dir) {
        return Checkpointer.sha256(dir.resolve("model.safetensors"));
    }

    @ParameterizedTest(name = "lora={0}")
    @ValueSource(booleans = {false, true})
    void stopCheckpointAndResumeInANewProcessGivesBitIdenticalWeights(boolean lora) throws Exception {
        Path model = TestModels.tiny();
        // under load: another process keeps every core busy the whole time
        try (BusyLoad busy = new BusyLoad(1)) {
            TrainResult straight = ResumeHarness.run(model, tmp.resolve("ck-a"), lora, 0, tmp.resolve("a"));
            assertThat(straight.steps()).isEqualTo(6);

            TrainResult firstHalf = ResumeHarness.run(model, tmp.resolve("ck-b"), lora, 3, tmp.resolve("b-half"));
            assertThat(firstHalf.stopped()).isTrue();
            assertThat(firstHalf.steps()).isEqualTo(3);
            assertThat(Files.readString(tmp.resolve("ck-b/LATEST")).strip()).isEqualTo("step-000003");
            assertThat(new Checkpointer(tmp.resolve("ck-b"), 2).latestValid().orElseThrow().state().engineThreads())
                    .as("the checkpoint records the pinned thread count").isEqualTo(JniUtils.getNumThreads())
                    .isEqualTo(EngineThreads.pinned()).isPositive();

            String out = resumeInChild(model, tmp.resolve("ck-b"), lora, tmp.resolve("b"), null);
            assertThat(out).contains("resumed_from=3 steps=6").doesNotContain("engine threads");
            assertThat(busy.running()).isTrue();
        }
        assertThat(weightsDigest(tmp.resolve("b"))).isEqualTo(weightsDigest(tmp.resolve("a")));
        assertThat(weightsDigest(tmp.resolve("b-half"))).isNotEqualTo(weightsDigest(tmp.resolve("a")));
        assertThat(weightsDigest(tmp.resolve("a"))).isNotEqualTo(weightsDigest(model));
    }

    /**
     * One worker may run several trainings at once: three side by side (full, and two LoRA runs drawing dropout
     * masks) each end with the weights they reach alone, bit for bit.
     */
    @Test
    void trainingsSideBySideInOneProcessEachGiveTheWeightsTheyGiveAlone() throws Exception {
        Path model = TestModels.tiny();
        ResumeHarness.run(model, tmp.resolve("ck-full"), false, 0, tmp.resolve("full"));
        ResumeHarness.run(model, tmp.resolve("ck-lora"), true, 0, tmp.resolve("lora"));
        List<java.util.concurrent.Callable<TrainResult>> runs = List.of(
                () -> ResumeHarness.run(model, tmp.resolve("ck-full-2"), false, 0, tmp.resolve("full-2")),
                () -> ResumeHarness.run(model, tmp.resolve("ck-lora-2"), true, 0, tmp.resolve("lora-2")),
                () -> ResumeHarness.run(model, tmp.resolve("ck-lora-3"), true, 0, tmp.resolve("lora-3")));
        java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(runs.size());
        try {
            for (java.util.concurrent.Future<TrainResult> f : pool.invokeAll(runs)) {
                assertThat(f.get().steps()).isEqualTo(6);
            }
        } finally {
            pool.shutdownNow();
        }
        assertThat(weightsDigest(tmp.resolve("full-2"))).isEqualTo(weightsDigest(tmp.resolve("full")));
        assertThat(weightsDigest(tmp.resolve("lora-2"))).isEqualTo(weightsDigest(tmp.resolve("lora")));
        assertThat(weightsDigest(tmp.resolve("lora-3"))).isEqualTo(weightsDigest(tmp.resolve("lora")));
        assertThat(weightsDigest(tmp.resolve("lora"))).isNotEqualTo(weightsDigest(tmp.resolve("full")));
    }

    @Test
    void resumingWithAnotherThreadCountSaysTheResultWillNotBeBitIdentical() throws Exception {
        Path model = TestModels.tiny();
        ResumeHarness.run(model, tmp.resolve("ck"), false, 3, tmp.resolve("half"));
        int other = EngineThreads.pin() + 1;
        String out = resumeInChild(model, tmp.resolve("ck"), false, tmp.resolve("out"), String.valueOf(other));
        assertThat(out).contains("resumed_from=3 steps=6")
                .contains("resuming with " + other + " engine threads a run checkpointed with " + EngineThreads.pin())
                .contains("TRACT_TORCH_THREADS=" + EngineThreads.pin());
    }

    /** Resumes the harness's run in a fresh JVM (with TRACT_TORCH_THREADS set when threads is not null). */
    private static String resumeInChild(Path model, Path ck, boolean lora, Path out, String threads)
            throws Exception {
        ProcessBuilder pb = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), ResumeHarness.class.getName(), model.toString(),
                ck.toString(), String.valueOf(lora), "0", out.toString()).redirectErrorStream(true);
        if (threads != null) {
            pb.environment().put(EngineThreads.ENV, threads);
        }
        Process p = pb.start();
        String log = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(180, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(log).isZero();
        return log;
    }

    @Test
    void corruptCheckpointIsRefusedAndTheOlderGoodOneIsUsed() throws Exception {
        Path ck = tmp.resolve("ck");
        ResumeHarness.run(TestModels.tiny(), ck, false, 0, tmp.resolve("out"));
        Checkpointer c = new Checkpointer(ck, 2);
        assertThat(c.checkpoints()).extracting(q -> q.getFileName().toString())
                .containsExactly("step-000006", "step-000004");
        Path params = ck.resolve("step-000006/" + Checkpointer.PARAMS);
        try (RandomAccessFile f = new RandomAccessFile(params.toFile(), "rw")) {
            f.seek(f.length() / 2);
            int b = f.read();
            f.seek(f.length() / 2);
            f.write(b ^ 0x01);
        }
        assertThatThrownBy(() -> c.restore(ck.resolve("step-000006")))
                .isInstanceOf(CorruptCheckpointException.class)
                .hasMessageContaining(params.toString()).hasMessageContaining("sha256");
        Checkpointer.Restored r = c.latestValid().orElseThrow();
        assertThat(r.state().step()).isEqualTo(4);
    }

    private static List<Double> train(LlamaModel model, JudgeTokenizer tok, TrainConfig cfg, Path ck)
            throws Exception {
        ExampleEncoder enc = new ExampleEncoder(tok, ScoreTokens.detect(tok), PromptTemplate.COMPACT, 300);
        List<EncodedExample> data = Trainer.encode(SyntheticTask.generate(64, 2), enc, Objective.COT_RAFT);
        List<Double> losses = new ArrayList<>();
        Trainer t = new Trainer(model, tok, enc, cfg, data, new TrainListener() {
            @Override
            public void onStep(StepMetrics m) {
                losses.add(m.loss());
                assertThat(m.tokensPerSecond()).isPositive();
                assertThat(m.gradNorm()).isPositive();
            }
        });
        t.run(ck, false, () -> false);
        return losses;
    }

    @Test
    void lossFalls() throws Exception {
        try (LlamaModel model = Checkpoints.load(TestModels.tiny(), Device.cpu(), DataType.FLOAT32);
             JudgeTokenizer tok = JudgeTokenizer.load(TestModels.tiny())) {
            List<Double> losses = train(model, tok, ResumeHarness.config(false).withSteps(30).withLr(1e-2)
                    .withBatch(8, 1), tmp.resolve("ck"));
            double first = losses.subList(0, 5).stream().mapToDouble(d -> d).average().orElseThrow();
            double last = losses.subList(25, 30).stream().mapToDouble(d -> d).average().orElseThrow();
            assertThat(last).isLessThan(first * 0.7);
        }
    }

    @Test
    void loraTrainsOnlyTheAdapters() throws Exception {
        try (LlamaModel model = Checkpoints.load(TestModels.tiny(), Device.cpu(), DataType.FLOAT32);
             JudgeTokenizer tok = JudgeTokenizer.load(TestModels.tiny())) {
            java.util.Map<String, float[]> before = new java.util.HashMap<>();
            model.parameters().forEach((k, v) -> before.put(k, v.toFloatArray()));
            train(model, tok, ResumeHarness.config(true).withSteps(4), tmp.resolve("ck"));
            model.parameters().forEach((k, v) -> assertThat(v.toFloatArray()).as(k).containsExactly(before.get(k)));
            assertThat(model.lora().parameters().get(
                    "base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight").abs().sum().getFloat())
                    .isPositive();
        }
    }

    @Test
    void checkpointOfAnotherRunIsRefused() throws Exception {
        Path ck = tmp.resolve("ck");
        ResumeHarness.run(TestModels.tiny(), ck, false, 2, tmp.resolve("out"));
        assertThatThrownBy(() -> ResumeHarness.run(TestModels.tiny(), ck, true, 0, tmp.resolve("out2")))
                .isInstanceOf(JudgeInputException.class).hasMessageContaining("config_digest");
    }
}
