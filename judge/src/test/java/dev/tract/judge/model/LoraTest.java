package dev.tract.judge.model;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tract.judge.TestModels;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LoraTest {
    private static final long[] IDS = {1, 40, 77, 300, 12, 5, 200, 99};

    @TempDir
    Path tmp;

    private static LlamaModel load() {
        return Checkpoints.load(TestModels.tiny(), Device.cpu(), DataType.FLOAT32);
    }

    private static void randomizeB(Lora lora, long seed) {
        Random rnd = new Random(seed);
        for (Map.Entry<String, NDArray> e : lora.parameters().entrySet()) {
            if (e.getKey().contains("lora_B")) {
                float[] v = new float[(int) e.getValue().size()];
                for (int i = 0; i < v.length; i++) {
                    v[i] = (float) rnd.nextGaussian() * 0.05f;
                }
                e.getValue().set(v);
            }
        }
    }

    @Test
    void freshAdapterLeavesOutputUnchanged() {
        try (LlamaModel m = load()) {
            float[][] base = SequenceLogits.of(m, IDS);
            m.attachLora(Lora.init(m, LoraConfig.allLinear(4, 8, 0.0), 1));
            assertThat(LlamaModelTest.maxAbsDiff(base, SequenceLogits.of(m, IDS))).isZero();
        }
    }

    @Test
    void onlyAdaptersReceiveGradients() {
        try (LlamaModel m = load()) {
            Lora lora = Lora.init(m, new LoraConfig(4, 8, 0.1, List.of("q_proj", "v_proj"), false), 1);
            randomizeB(lora, 3);
            m.attachLora(lora);
            lora.parameters().values().forEach(p -> p.setRequiresGradient(true));
            NDManager nd = m.manager();
            try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                NDArray ids = nd.create(IDS, new Shape(1, IDS.length));
                NDArray pos = nd.arange(0, IDS.length).toType(DataType.INT64, false).reshape(1, IDS.length);
                NDArray mask = nd.ones(new Shape(1, IDS.length), DataType.BOOLEAN);
                NDArray loss = m.logits(m.forward(ids, pos, mask, null, true)).square().mean();
                gc.backward(loss);
            }
            assertThat(lora.parameters()).hasSize(2 * 2 * m.config().numHiddenLayers());
            for (Map.Entry<String, NDArray> e : lora.parameters().entrySet()) {
                assertThat(e.getValue().getGradient().abs().sum().getFloat()).as(e.getKey()).isGreaterThan(0f);
            }
            for (Map.Entry<String, NDArray> e : m.parameters().entrySet()) {
                assertThat(e.getValue().hasGradient()).as(e.getKey()).isFalse();
            }
        }
    }

    @Test
    void mergedModelEqualsAdaptedModel() {
        try (LlamaModel m = load()) {
            float[][] base = SequenceLogits.of(m, IDS);
            Lora lora = Lora.init(m, LoraConfig.allLinear(4, 16, 0.0), 2);
            randomizeB(lora, 5);
            m.attachLora(lora);
            float[][] adapted = SequenceLogits.of(m, IDS);
            assertThat(LlamaModelTest.maxAbsDiff(base, adapted)).isGreaterThan(1e-3f);
            m.mergeLora();
            assertThat(m.lora()).isNull();
            assertThat(LlamaModelTest.maxAbsDiff(adapted, SequenceLogits.of(m, IDS))).isLessThan(1e-5f);
        }
    }

    /**
     * Merging adds (alpha / r) * B * A to the base weight: checked element by element against that product computed
     * here in plain loops, with alpha / r = 16 / 4 = 4.
     */
    @Test
    void mergeAddsAlphaOverRankTimesBA() {
        try (LlamaModel m = load()) {
            String name = "model.layers.0.self_attn.q_proj";
            SafeTensors.Tensor weight = m.hfTensors().get(name + ".weight");
            float[] base = weight.toFloats("base", name);
            int out = (int) weight.shape()[0];
            int in = (int) weight.shape()[1];
            Lora lora = Lora.init(m, LoraConfig.allLinear(4, 16, 0.0), 2);
            randomizeB(lora, 5);
            float[] a = null;
            float[] b = null;
            for (Map.Entry<String, NDArray> e : lora.parameters().entrySet()) {
                if (e.getKey().contains("layers.0.self_attn.q_proj")) {
                    if (e.getKey().contains("lora_A")) {
                        a = e.getValue().toFloatArray();
                    } else {
                        b = e.getValue().toFloatArray();
                    }
                }
            }
            assertThat(a).as(lora.parameters().keySet().toString()).hasSize(4 * in);
            assertThat(b).hasSize(out * 4);
            m.attachLora(lora);
            m.mergeLora();
            float[] merged = m.hfTensors().get(name + ".weight").toFloats("merged", name);
            double largest = 0;
            for (int o = 0; o < out; o++) {
                for (int i = 0; i < in; i++) {
                    double delta = 0;
                    for (int r = 0; r < 4; r++) {
                        delta += (double) b[o * 4 + r] * a[r * in + i];
                    }
                    double want = base[o * in + i] + 16.0 / 4 * delta;
                    assertThat((double) merged[o * in + i]).isCloseTo(want, org.assertj.core.api.Assertions
                            .within(1e-5));
                    largest = Math.max(largest, Math.abs(4 * delta));
                }
            }
            assertThat(largest).as("the adapter changed the weight").isGreaterThan(1e-3);
        }
    }

    @Test
    void peftLayoutRoundTrips() throws Exception {
        float[][] adapted;
        try (LlamaModel m = load()) {
            Lora lora = Lora.init(m, new LoraConfig(2, 4, 0.05, List.of("q_proj", "down_proj"), false), 4);
            randomizeB(lora, 6);
            m.attachLora(lora);
            adapted = SequenceLogits.of(m, IDS);
            lora.save(tmp.resolve("adapter"), TestModels.tiny().toString());
        }
        JsonNode cfg = new ObjectMapper().readTree(tmp.resolve("adapter/adapter_config.json").toFile());
        assertThat(cfg.get("peft_type").asText()).isEqualTo("LORA");
        assertThat(cfg.get("r").asInt()).isEqualTo(2);
        assertThat(cfg.get("target_modules").toString()).contains("q_proj", "down_proj");
        assertThat(SafeTensors.read(tmp.resolve("adapter/adapter_model.safetensors")))
                .containsKey("base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight")
                .containsKey("base_model.model.model.layers.1.mlp.down_proj.lora_B.weight");
        try (LlamaModel m = load()) {
            m.attachLora(Lora.load(m, tmp.resolve("adapter")));
            assertThat(LlamaModelTest.maxAbsDiff(adapted, SequenceLogits.of(m, IDS))).isZero();
        }
    }
}
