package dev.tract.judge.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import ai.djl.nn.core.Linear;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The Llama decoder as Hugging Face defines it: token embedding; per block RMSNorm, causal self-attention with
 * rotary position embeddings and grouped-query attention, residual, RMSNorm, SwiGLU MLP, residual; final RMSNorm;
 * LM head (tied or untied). Weights live in one map under Hugging Face's tensor names and PyTorch's [out, in]
 * layout, so loading and saving is a matter of names. Mistral and Qwen2 (q/k/v biases) run through the same code.
 */
public final class LlamaModel implements AutoCloseable {
    public static final String EMBED = "model.embed_tokens.weight";
    public static final String FINAL_NORM = "model.norm.weight";
    public static final String LM_HEAD = "lm_head.weight";

    private final LlamaConfig config;
    private final NDManager manager;
    private final Map<String, NDArray> weights;
    private final DataType dtype;
    private final Rope rope;
    private Lora lora;

    LlamaModel(LlamaConfig config, NDManager manager, Map<String, NDArray> weights, DataType dtype) {
        this.config = config;
        this.manager = manager;
        this.weights = weights;
        this.dtype = dtype;
        this.rope = new Rope(config, manager);
    }

    /** Module path of a projection, e.g. {@code model.layers.3.self_attn.q_proj}. */
    public static String projectionPath(int layer, String proj) {
        String group = proj.endsWith("_proj") && (proj.startsWith("gate") || proj.startsWith("up")
                || proj.startsWith("down")) ? "mlp" : "self_attn";
        return "model.layers." + layer + "." + group + "." + proj;
    }

    /** Every tensor a checkpoint of this config holds, in a stable order, with its shape. */
    public static Map<String, long[]> expectedShapes(LlamaConfig c) {
        Map<String, long[]> s = new LinkedHashMap<>();
        long h = c.hiddenSize();
        long q = (long) c.numAttentionHeads() * c.headSize();
        long kv = (long) c.numKeyValueHeads() * c.headSize();
        long inter = c.intermediateSize();
        s.put(EMBED, new long[] {c.vocabSize(), h});
        for (int i = 0; i < c.numHiddenLayers(); i++) {
            String p = "model.layers." + i + ".";
            s.put(p + "input_layernorm.weight", new long[] {h});
            s.put(p + "self_attn.q_proj.weight", new long[] {q, h});
            s.put(p + "self_attn.k_proj.weight", new long[] {kv, h});
            s.put(p + "self_attn.v_proj.weight", new long[] {kv, h});
            if (c.qkvBias()) {
                s.put(p + "self_attn.q_proj.bias", new long[] {q});
                s.put(p + "self_attn.k_proj.bias", new long[] {kv});
                s.put(p + "self_attn.v_proj.bias", new long[] {kv});
            }
            s.put(p + "self_attn.o_proj.weight", new long[] {h, q});
            if (c.attentionBias()) {
                s.put(p + "self_attn.o_proj.bias", new long[] {h});
            }
            s.put(p + "post_attention_layernorm.weight", new long[] {h});
            s.put(p + "mlp.gate_proj.weight", new long[] {inter, h});
            s.put(p + "mlp.up_proj.weight", new long[] {inter, h});
            s.put(p + "mlp.down_proj.weight", new long[] {h, inter});
            if (c.mlpBias()) {
                s.put(p + "mlp.gate_proj.bias", new long[] {inter});
                s.put(p + "mlp.up_proj.bias", new long[] {inter});
                s.put(p + "mlp.down_proj.bias", new long[] {h});
            }
        }
        s.put(FINAL_NORM, new long[] {h});
        if (!c.tieWordEmbeddings()) {
            s.put(LM_HEAD, new long[] {c.vocabSize(), h});
        }
        return s;
    }

    public LlamaConfig config() {
        return config;
    }

    public NDManager manager() {
        return manager;
    }

    public DataType dtype() {
        return dtype;
    }

    /** The base weights under their Hugging Face names (read-only view). */
    public Map<String, NDArray> weights() {
        return Collections.unmodifiableMap(weights);
    }

    public Lora lora() {
        return lora;
    }

    /** Attaches LoRA adapters (replacing any attached before, which are closed). */
    public void attachLora(Lora adapters) {
        if (lora != null && lora != adapters) {
            lora.close();
        }
        lora = adapters;
    }

    /** Folds the adapters into the base weights and detaches them; the model then computes the same outputs. */
    public void mergeLora() {
        if (lora == null) {
            return;
        }
        for (String module : lora.modules()) {
            String name = module + ".weight";
            NDArray delta = lora.delta(module);
            NDArray merged = weights.get(name).add(delta);
            merged.attach(manager);
            weights.get(name).close();
            weights.put(name, merged);
            delta.close();
        }
        lora.close();
        lora = null;
    }

    /**
     * Runs the decoder and returns the final hidden states [B, T, hidden] (after the last RMSNorm).
     *
     * @param inputIds [B, T] int64 token ids
     * @param positions [B, T] int64 position ids (they differ from 0..T-1 for left-padded rows)
     * @param keyMask [B, S] boolean, true for real tokens; S = positions already cached + T
     * @param cache null to attend only within this call
     * @param training enables LoRA dropout
     */
    public NDArray forward(NDArray inputIds, NDArray positions, NDArray keyMask, KvCache cache, boolean training) {
        Shape shape = inputIds.getShape();
        long batch = shape.get(0);
        long t = shape.get(1);
        int past = cache == null ? 0 : cache.length();
        NDArray h = weights.get(EMBED).get(inputIds);
        NDArray[] cosSin = rope.cosSin(positions, dtype);
        NDArray mask = attentionMask(keyMask, past, (int) t);
        for (int i = 0; i < config.numHiddenLayers(); i++) {
            h = block(i, h, cosSin, mask, cache, training, batch, t);
        }
        if (cache != null) {
            cache.advance((int) t);
        }
        return rmsNorm(h, weights.get(FINAL_NORM));
    }

    /** Logits over the vocabulary for hidden states [..., hidden]. */
    public NDArray logits(NDArray hidden) {
        NDArray head = config.tieWordEmbeddings() ? weights.get(EMBED) : weights.get(LM_HEAD);
        return Linear.linear(hidden, head).singletonOrThrow();
    }

    private NDArray block(int layer, NDArray h, NDArray[] cosSin, NDArray mask, KvCache cache, boolean training,
                          long batch, long t) {
        String p = "model.layers." + layer + ".";
        int heads = config.numAttentionHeads();
        int kvHeads = config.numKeyValueHeads();
        int d = config.headSize();
        NDArray x = rmsNorm(h, weights.get(p + "input_layernorm.weight"));
        NDArray q = project(layer, "q_proj", x, training).reshape(batch, t, heads, d).transpose(0, 2, 1, 3);
        NDArray k = project(layer, "k_proj", x, training).reshape(batch, t, kvHeads, d).transpose(0, 2, 1, 3);
        NDArray v = project(layer, "v_proj", x, training).reshape(batch, t, kvHeads, d).transpose(0, 2, 1, 3);
        q = Rope.apply(q, cosSin);
        k = Rope.apply(k, cosSin);
        if (cache != null) {
            NDArray[] kv = cache.update(layer, k, v);
            k = kv[0];
            v = kv[1];
        }
        int group = heads / kvHeads;
        // grouped-query attention: query heads [kv, group] share key/value head kv, without copying k and v
        NDArray q5 = q.reshape(batch, kvHeads, group, t, d);
        NDArray k5 = k.expandDims(2);
        NDArray v5 = v.expandDims(2);
        NDArray scores = q5.matMul(k5.transpose(0, 1, 2, 4, 3)).mul(1.0 / Math.sqrt(d));
        if (dtype != DataType.FLOAT32) {
            scores = scores.toType(DataType.FLOAT32, false);
        }
        NDArray probs = scores.add(mask).softmax(-1);
        if (dtype != DataType.FLOAT32) {
            probs = probs.toType(dtype, false);
        }
        NDArray attn = probs.matMul(v5).reshape(batch, heads, t, d).transpose(0, 2, 1, 3)
                .reshape(batch, t, (long) heads * d);
        h = h.add(project(layer, "o_proj", attn, training));
        x = rmsNorm(h, weights.get(p + "post_attention_layernorm.weight"));
        NDArray gate = project(layer, "gate_proj", x, training);
        NDArray up = project(layer, "up_proj", x, training);
        return h.add(project(layer, "down_proj", Activation.swish(gate, 1f).mul(up), training));
    }

    private NDArray project(int layer, String proj, NDArray x, boolean training) {
        String module = projectionPath(layer, proj);
        NDArray bias = weights.get(module + ".bias");
        NDArray w = weights.get(module + ".weight");
        NDArray y = (bias == null ? Linear.linear(x, w) : Linear.linear(x, w, bias)).singletonOrThrow();
        return lora == null ? y : lora.apply(module, x, y, training);
    }

    private NDArray rmsNorm(NDArray x, NDArray weight) {
        NDArray x32 = dtype == DataType.FLOAT32 ? x : x.toType(DataType.FLOAT32, false);
        NDArray normed = x32.mul(x32.square().mean(new int[] {-1}, true).add(config.rmsNormEps()).pow(-0.5));
        if (dtype != DataType.FLOAT32) {
            normed = normed.toType(dtype, false);
        }
        return normed.mul(weight);
    }

    /**
     * Additive mask [B, 1, 1, T, S]: 0 where query slot i may attend key slot j (j ≤ i, inside the sliding window
     * if any, and j a real token), the most negative float elsewhere.
     */
    private NDArray attentionMask(NDArray keyMask, int past, int t) {
        long batch = keyMask.getShape().get(0);
        long s = keyMask.getShape().get(1);
        NDManager m = keyMask.getManager();
        NDArray kSlot = m.arange(0, (int) s).reshape(1, s);
        NDArray qSlot = m.arange(past, past + t).reshape(t, 1);
        NDArray allowed = kSlot.lte(qSlot);
        if (config.slidingWindow() != null) {
            allowed = allowed.logicalAnd(qSlot.sub(kSlot).lt(config.slidingWindow()));
        }
        allowed = allowed.reshape(1, 1, 1, t, s).logicalAnd(keyMask.reshape(batch, 1, 1, 1, s));
        return allowed.toType(DataType.FLOAT32, false).sub(1f).mul(Float.MAX_VALUE);
    }

    @Override
    public void close() {
        if (lora != null) {
            lora.close();
        }
        manager.close();
    }
}
