package dev.tract.judge.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import ai.djl.Device;
import ai.djl.ndarray.types.DataType;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tract.judge.JudgeInputException;
import dev.tract.judge.TestModels;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class LlamaModelTest {
    private static final long[] IDS = {1, 40, 77, 300, 12, 5, 200, 99, 301, 45, 7, 250};

    @TempDir
    Path tmp;

    static float maxAbsDiff(float[][] a, float[][] b) {
        assertThat(a.length).isEqualTo(b.length);
        float max = 0;
        for (int i = 0; i < a.length; i++) {
            assertThat(a[i].length).isEqualTo(b[i].length);
            for (int j = 0; j < a[i].length; j++) {
                max = Math.max(max, Math.abs(a[i][j] - b[i][j]));
            }
        }
        return max;
    }

    static float[][] logits(Path dir, long[] ids) {
        try (LlamaModel m = Checkpoints.load(dir, Device.cpu(), DataType.FLOAT32)) {
            return SequenceLogits.of(m, ids);
        }
    }

    @Test
    void changingALaterTokenLeavesEarlierLogitsUnchanged() {
        long[] changed = IDS.clone();
        changed[8] = 17;
        float[][] a = logits(TestModels.tiny(), IDS);
        float[][] b = logits(TestModels.tiny(), changed);
        for (int i = 0; i < 8; i++) {
            assertThat(b[i]).as("position %d", i).containsExactly(a[i]);
        }
        assertThat(b[8]).isNotEqualTo(a[8]);
        assertThat(b[11]).isNotEqualTo(a[11]);
    }

    @Test
    void saveThenLoadGivesIdenticalLogits() throws Exception {
        float[][] before = logits(TestModels.tiny(), IDS);
        try (LlamaModel m = Checkpoints.load(TestModels.tiny(), Device.cpu(), DataType.FLOAT32)) {
            Checkpoints.save(m, tmp.resolve("copy"));
        }
        float[][] after = logits(tmp.resolve("copy"), IDS);
        assertThat(maxAbsDiff(before, after)).isZero();
        ObjectNode cfg = (ObjectNode) new ObjectMapper().readTree(tmp.resolve("copy/config.json").toFile());
        assertThat(cfg.get("architectures").get(0).asText()).isEqualTo("LlamaForCausalLM");
        assertThat(cfg.get("torch_dtype").asText()).isEqualTo("float32");
    }

    @Test
    void writesHuggingFaceTensorNamesAndSafetensorsMetadata() throws Exception {
        Path file = TestModels.tiny().resolve("model.safetensors");
        Map<String, SafeTensors.Tensor> t = SafeTensors.read(file);
        assertThat(t).containsKeys("model.embed_tokens.weight", "model.layers.0.self_attn.q_proj.weight",
                "model.layers.1.mlp.down_proj.weight", "model.layers.0.input_layernorm.weight",
                "model.layers.0.post_attention_layernorm.weight", "model.norm.weight");
        assertThat(t).doesNotContainKey("lm_head.weight"); // the tiny preset ties its head to the embedding
        LlamaConfig c = LlamaConfig.read(TestModels.tiny().resolve("config.json"));
        assertThat(t.get("model.layers.0.self_attn.k_proj.weight").shape())
                .containsExactly((long) c.numKeyValueHeads() * c.headSize(), c.hiddenSize());
        byte[] head = Files.readAllBytes(file);
        long len = ByteBuffer.wrap(head, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        String header = new String(head, 8, (int) len, java.nio.charset.StandardCharsets.UTF_8);
        assertThat(header).contains("\"__metadata__\":{\"format\":\"pt\"}");
        assertThat(len % 8).isZero();
    }

    @ParameterizedTest
    @ValueSource(strings = {"BF16", "F16"})
    void halfPrecisionCheckpointLoadsAsItsRoundedValues(String dtype) throws Exception {
        Path src = TestModels.tiny();
        Path half = tmp.resolve(dtype);
        Path rounded = tmp.resolve("rounded");
        Files.createDirectories(half);
        Files.createDirectories(rounded);
        Files.copy(src.resolve("config.json"), half.resolve("config.json"));
        Files.copy(src.resolve("config.json"), rounded.resolve("config.json"));
        Map<String, SafeTensors.Tensor> halfT = new LinkedHashMap<>();
        Map<String, SafeTensors.Tensor> roundT = new LinkedHashMap<>();
        for (var e : SafeTensors.read(src.resolve("model.safetensors")).entrySet()) {
            float[] v = e.getValue().toFloats("x", e.getKey());
            ByteBuffer b = ByteBuffer.allocate(v.length * 2).order(ByteOrder.LITTLE_ENDIAN);
            float[] r = new float[v.length];
            for (int i = 0; i < v.length; i++) {
                short bits = dtype.equals("BF16") ? (short) (Float.floatToIntBits(v[i]) >>> 16) : toHalf(v[i]);
                b.putShort(bits);
                r[i] = dtype.equals("BF16") ? Float.intBitsToFloat((bits & 0xffff) << 16) : halfValue(bits);
            }
            b.flip();
            halfT.put(e.getKey(), new SafeTensors.Tensor(dtype, e.getValue().shape(), b));
            roundT.put(e.getKey(), SafeTensors.Tensor.ofFloats(r, e.getValue().shape()));
        }
        SafeTensors.write(half.resolve("model.safetensors"), halfT);
        SafeTensors.write(rounded.resolve("model.safetensors"), roundT);
        float[][] fromHalf = logits(half, IDS);
        assertThat(maxAbsDiff(fromHalf, logits(rounded, IDS))).isZero();
        assertThat(maxAbsDiff(fromHalf, logits(src, IDS))).isLessThan(0.05f);
    }

    /** Round to nearest-even float16 (tests only; values here are small and normal). */
    private static short toHalf(float f) {
        int bits = Float.floatToIntBits(f);
        int sign = (bits >>> 16) & 0x8000;
        int exp = ((bits >>> 23) & 0xff) - 127 + 15;
        int mant = bits & 0x7fffff;
        if (exp <= 0) {
            return (short) sign;
        }
        int half = sign | (exp << 10) | (mant >>> 13);
        int rest = mant & 0x1fff;
        if (rest > 0x1000 || (rest == 0x1000 && (half & 1) == 1)) {
            half++;
        }
        return (short) half;
    }

    @Test
    void shardedCheckpointLoads() throws Exception {
        Path src = TestModels.tiny();
        Path sharded = tmp.resolve("sharded");
        Files.createDirectories(sharded);
        Files.copy(src.resolve("config.json"), sharded.resolve("config.json"));
        Map<String, SafeTensors.Tensor> all = SafeTensors.read(src.resolve("model.safetensors"));
        Map<String, SafeTensors.Tensor> a = new LinkedHashMap<>();
        Map<String, SafeTensors.Tensor> b = new LinkedHashMap<>();
        ObjectNode index = new ObjectMapper().createObjectNode();
        ObjectNode map = index.putObject("weight_map");
        int i = 0;
        for (var e : all.entrySet()) {
            boolean first = i++ % 2 == 0;
            (first ? a : b).put(e.getKey(), e.getValue());
            map.put(e.getKey(), first ? "model-00001-of-00002.safetensors" : "model-00002-of-00002.safetensors");
        }
        SafeTensors.write(sharded.resolve("model-00001-of-00002.safetensors"), a);
        SafeTensors.write(sharded.resolve("model-00002-of-00002.safetensors"), b);
        new ObjectMapper().writeValue(sharded.resolve("model.safetensors.index.json").toFile(), index);
        assertThat(maxAbsDiff(logits(sharded, IDS), logits(src, IDS))).isZero();
    }

    @Test
    void configThatDoesNotMatchTheWeightsNamesFileAndTensor() throws Exception {
        Path dir = tmp.resolve("bad");
        Files.createDirectories(dir);
        Files.copy(TestModels.tiny().resolve("model.safetensors"), dir.resolve("model.safetensors"));
        ObjectNode cfg = (ObjectNode) new ObjectMapper().readTree(TestModels.tiny().resolve("config.json").toFile());
        cfg.put("intermediate_size", 100);
        new ObjectMapper().writeValue(dir.resolve("config.json").toFile(), cfg);
        assertThatThrownBy(() -> Checkpoints.load(dir, Device.cpu(), DataType.FLOAT32))
                .isInstanceOf(JudgeInputException.class)
                .hasMessageContaining("model.safetensors")
                .hasMessageContaining("model.layers.0.mlp.gate_proj.weight")
                .hasMessageContaining("intermediate_size=100");
    }

    @Test
    void missingFieldAndMissingDirectoryAreNamed() throws Exception {
        Path dir = tmp.resolve("nofield");
        Files.createDirectories(dir);
        ObjectNode cfg = (ObjectNode) new ObjectMapper().readTree(TestModels.tiny().resolve("config.json").toFile());
        cfg.remove("hidden_size");
        new ObjectMapper().writeValue(dir.resolve("config.json").toFile(), cfg);
        assertThatThrownBy(() -> Checkpoints.load(dir, Device.cpu(), DataType.FLOAT32))
                .isInstanceOf(JudgeInputException.class).hasMessageContaining("config.json")
                .hasMessageContaining("hidden_size");
        assertThatThrownBy(() -> Checkpoints.load(tmp.resolve("nope"), Device.cpu(), DataType.FLOAT32))
                .isInstanceOf(JudgeInputException.class).hasMessageContaining("nope");
    }

    /** IEEE 754 binary16 by its definition: (-1)^s * 2^(e-15) * (1 + m/1024), subnormals 2^-14 * m/1024. */
    static float halfValue(short h) {
        int sign = (h >> 15) & 1;
        int exponent = (h >> 10) & 0x1f;
        int mantissa = h & 0x3ff;
        double v;
        if (exponent == 0x1f) {
            v = mantissa == 0 ? Double.POSITIVE_INFINITY : Double.NaN;
        } else if (exponent == 0) {
            v = Math.scalb(mantissa / 1024.0, -14);
        } else {
            v = Math.scalb(1 + mantissa / 1024.0, exponent - 15);
        }
        return (float) (sign == 1 ? -v : v);
    }

    static List<LlamaConfig> architectures() {
        LlamaConfig gqaUntied = LlamaConfig.of(320, 48, 96, 2, 6, 2, 256, false, 1, 2, 0);
        ObjectNode qwen = gqaUntied.toJson();
        qwen.put("model_type", "qwen2");
        qwen.putArray("architectures").add("Qwen2ForCausalLM");
        qwen.put("rope_theta", 1000000.0);
        // Hugging Face's Qwen2 ignores sliding_window unless use_sliding_window is true (its default is false)
        qwen.put("sliding_window", 3);
        ObjectNode qwenWindowed = qwen.deepCopy();
        qwenWindowed.put("use_sliding_window", true);
        qwenWindowed.put("max_window_layers", 0);
        ObjectNode mistral = gqaUntied.toJson();
        mistral.put("model_type", "mistral");
        mistral.putArray("architectures").add("MistralForCausalLM");
        mistral.put("sliding_window", 5);
        mistral.put("num_key_value_heads", 1);
        ObjectNode mha = gqaUntied.toJson();
        mha.put("num_key_value_heads", 6);
        mha.put("tie_word_embeddings", true);
        mha.put("rms_norm_eps", 1e-6);
        return List.of(gqaUntied, LlamaConfig.fromJson(qwen, "qwen2"), LlamaConfig.fromJson(qwenWindowed,
                "qwen2-windowed"), LlamaConfig.fromJson(mistral, "mistral"), LlamaConfig.fromJson(mha, "mha"));
    }

    @Test
    void logitsMatchAnIndependentImplementationOfTheHuggingFaceForward() throws Exception {
        assumeTrue(ReferenceImplementation.available(), "python3 with numpy is needed for the reference");
        int n = 0;
        for (LlamaConfig c : architectures()) {
            Path dir = TestModels.withConfig(tmp.resolve("arch" + n++), c, 100 + n);
            if (c.qkvBias()) {
                // give the biases non-zero values so that they are checked too
                Map<String, SafeTensors.Tensor> t = new LinkedHashMap<>(SafeTensors.read(dir.resolve(
                        "model.safetensors")));
                java.util.Random rnd = new java.util.Random(5);
                for (String k : List.copyOf(t.keySet())) {
                    if (k.endsWith(".bias")) {
                        float[] v = new float[(int) t.get(k).elements()];
                        for (int i = 0; i < v.length; i++) {
                            v[i] = (float) rnd.nextGaussian() * 0.1f;
                        }
                        t.put(k, SafeTensors.Tensor.ofFloats(v, t.get(k).shape()));
                    }
                }
                SafeTensors.write(dir.resolve("model.safetensors"), t);
            }
            float[][] ours = logits(dir, IDS);
            float[][] reference = ReferenceImplementation.logits(dir, IDS);
            assertThat(maxAbsDiff(ours, reference)).as(c.modelType() + " kv=" + c.numKeyValueHeads())
                    .isLessThan(1e-4f);
        }
    }

    /**
     * Training runs the same program with gradients recorded: for every architecture (biases, sliding windows,
     * grouped and tied heads) and a right-padded batch, the loss and every parameter's gradient equal those of the
     * step-by-step forward bit for bit, and the program ran.
     */
    @Test
    void trainingThroughTheOneCallProgramGivesTheStepByStepGradientsBitForBit() throws Exception {
        int n = 0;
        for (LlamaConfig c : architectures()) {
            Path dir = TestModels.withConfig(tmp.resolve("train" + n++), c, 500 + n);
            Map<String, float[]>[] grads = new Map[2];
            float[] loss = new float[2];
            for (int k = 0; k < 2; k++) {
                boolean scripted = k == 0;
                try (LlamaModel m = Checkpoints.load(dir, Device.cpu(), DataType.FLOAT32)) {
                    m.scriptedInference(scripted);
                    m.parameters().values().forEach(p -> p.setRequiresGradient(true));
                    long before = m.scriptedCalls();
                    try (ai.djl.ndarray.NDScope scope = new ai.djl.ndarray.NDScope();
                         ai.djl.training.GradientCollector gc = ai.djl.engine.Engine.getInstance()
                                 .newGradientCollector()) {
                        scope.suppressNotUsedWarning();
                        ai.djl.ndarray.NDManager nd = m.manager();
                        // two rows of 9; the second is 6 real tokens then padding
                        long[] ids = new long[18];
                        long[] pos = new long[18];
                        boolean[] mask = new boolean[18];
                        for (int i = 0; i < 9; i++) {
                            ids[i] = 3 + 31 * i % 300;
                            ids[9 + i] = i < 6 ? 7 + 17 * i % 300 : 0;
                            pos[i] = i;
                            pos[9 + i] = i;
                            mask[i] = true;
                            mask[9 + i] = i < 6;
                        }
                        ai.djl.ndarray.types.Shape shape = new ai.djl.ndarray.types.Shape(2, 9);
                        ai.djl.ndarray.NDArray hidden = m.forward(nd.create(ids, shape), nd.create(pos, shape),
                                nd.create(mask, shape), null, true);
                        ai.djl.ndarray.NDArray l = m.logits(hidden).logSoftmax(2).mul(-1).mean();
                        gc.backward(l);
                        loss[k] = l.getFloat();
                    }
                    assertThat(m.scriptedCalls() - before).as(c.modelType() + " ran the program")
                            .isEqualTo(scripted ? 1 : 0);
                    grads[k] = new LinkedHashMap<>();
                    for (Map.Entry<String, ai.djl.ndarray.NDArray> e : m.parameters().entrySet()) {
                        grads[k].put(e.getKey(), e.getValue().getGradient().toFloatArray());
                    }
                }
            }
            assertThat(loss[0]).as(c.modelType()).isEqualTo(loss[1]);
            assertThat(grads[0].keySet()).isEqualTo(grads[1].keySet());
            for (String name : grads[0].keySet()) {
                assertThat(grads[0].get(name)).as(c.modelType() + " " + name).containsExactly(grads[1].get(name));
                assertThat(grads[0].get(name)).as(name + " has a gradient").isNotEqualTo(
                        new float[grads[0].get(name).length]);
            }
        }
    }

    @Test
    void theOneCallInferencePassEqualsTheStepByStepForwardBitForBit() throws Exception {
        int n = 0;
        for (LlamaConfig c : architectures()) {
            Path dir = TestModels.withConfig(tmp.resolve("script" + n++), c, 300 + n);
            try (LlamaModel m = Checkpoints.load(dir, Device.cpu(), DataType.FLOAT32);
                 dev.tract.judge.runtime.GradMode ignored = dev.tract.judge.runtime.GradMode.disabled();
                 ai.djl.ndarray.NDManager nd = m.manager().newSubManager()) {
                // two rows, the second left-padded by three slots; a prefill of 7 then 6 single-token steps, so
                // that the windows of 3 and 5 come into reach
                long[] pos = new long[14];
                for (int i = 0; i < 7; i++) {
                    pos[i] = i;
                    pos[7 + i] = Math.max(0, i - 3);
                }
                float[][] outputs = new float[2][];
                for (boolean scripted : new boolean[] {true, false}) {
                    m.scriptedInference(scripted);
                    long before = m.scriptedCalls();
                    java.util.List<Float> all = new java.util.ArrayList<>();
                    try (KvCache cache = new KvCache(nd, c, 2, 13, DataType.FLOAT32)) {
                        ai.djl.ndarray.NDArray prefillMask = nd.create(new boolean[] {true, true, true, true, true,
                            true, true, false, false, false, true, true, true, true},
                                new ai.djl.ndarray.types.Shape(2, 7));
                        ai.djl.ndarray.NDArray hidden = m.forward(nd.create(new long[] {1, 40, 77, 300, 12, 5, 200,
                            0, 0, 0, 99, 301, 45, 7}, new ai.djl.ndarray.types.Shape(2, 7)),
                                nd.create(pos, new ai.djl.ndarray.types.Shape(2, 7)), prefillMask, cache, false);
                        for (float f : hidden.toFloatArray()) {
                            all.add(f);
                        }
                        for (int step = 0; step < 6; step++) {
                            boolean[] mask = new boolean[2 * (8 + step)];
                            for (int j = 0; j < 8 + step; j++) {
                                mask[j] = true;
                                mask[8 + step + j] = j >= 3;
                            }
                            float[] logits = m.lastLogits(nd.create(new long[] {11 + step, 21 + step},
                                    new ai.djl.ndarray.types.Shape(2, 1)), nd.create(new long[] {7 + step, 4 + step},
                                    new ai.djl.ndarray.types.Shape(2, 1)), nd.create(mask,
                                    new ai.djl.ndarray.types.Shape(2, 8 + step)), cache).toFloatArray();
                            for (float f : logits) {
                                all.add(f);
                            }
                        }
                        // without a cache and without padding: the path that scores whole sequences
                        for (float f : m.forward(nd.create(IDS, new ai.djl.ndarray.types.Shape(1, IDS.length)),
                                nd.arange(0, IDS.length).toType(DataType.INT64, false).reshape(1, IDS.length), null,
                                null, false).toFloatArray()) {
                            all.add(f);
                        }
                    }
                    assertThat(m.scriptedCalls() - before).as(c.modelType()).isEqualTo(scripted ? 8 : 0);
                    float[] flat = new float[all.size()];
                    for (int i = 0; i < flat.length; i++) {
                        flat[i] = all.get(i);
                    }
                    outputs[scripted ? 0 : 1] = flat;
                }
                assertThat(outputs[0]).as(c.modelType() + " kv=" + c.numKeyValueHeads()).containsExactly(outputs[1]);
            }
        }
    }
}
