package dev.tract.judge.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import ai.djl.nn.core.Linear;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.engine.PtNDManager;
import ai.djl.pytorch.jni.IValue;
import ai.djl.pytorch.jni.JniUtils;
import dev.tract.judge.runtime.EngineThreads;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The Llama decoder as Hugging Face defines it: token embedding; per block RMSNorm, causal self-attention with
 * rotary position embeddings and grouped-query attention, residual, RMSNorm, SwiGLU MLP, residual; final RMSNorm;
 * LM head (tied or untied). Mistral (sliding window) and Qwen2 (q/k/v biases) run through the same code.
 *
 * <p>Checkpoints use Hugging Face's tensor names and PyTorch's [out, in] layout. In memory the q, k and v
 * projections of a block are stored as one matrix ({@code self_attn.qkv_proj}) and gate and up as one
 * ({@code mlp.gate_up_proj}): each engine call costs microseconds of overhead, so fewer, larger calls make
 * decoding with the KV cache several times faster. {@link #hfTensors()} splits them back.
 */
public final class LlamaModel implements AutoCloseable {
    public static final String EMBED = "model.embed_tokens.weight";
    public static final String FINAL_NORM = "model.norm.weight";
    public static final String LM_HEAD = "lm_head.weight";

    private final LlamaConfig config;
    private final NDManager manager;
    private final Map<String, NDArray> params;
    private final DataType dtype;
    private final Rope rope;
    private final NDArray eps;
    private final NDArray scale;
    private final NDArray one;
    private final NDArray maxFloat;
    private final NDArray meanColumn;
    private Lora lora;
    private ScriptedInference scripted;
    private IValue scriptWeights;
    private IValue scriptConstants;
    private IValue noCache;
    private NDArray empty;
    private boolean scriptEnabled = !"false".equals(System.getProperty(SCRIPTED_PROPERTY,
            System.getenv().getOrDefault("TRACT_SCRIPTED_INFERENCE", "true")));

    /** System property (or TRACT_SCRIPTED_INFERENCE) that turns the one-call inference pass off when "false". */
    public static final String SCRIPTED_PROPERTY = "tract.scripted_inference";

    /** Takes ownership of weights under Hugging Face names (they are fused and the originals closed). */
    LlamaModel(LlamaConfig config, NDManager manager, Map<String, NDArray> hfWeights, DataType dtype) {
        EngineThreads.pin();
        this.config = config;
        this.manager = manager;
        this.dtype = dtype;
        this.params = fuse(config, hfWeights);
        try (NDScope scope = new NDScope()) {
            scope.suppressNotUsedWarning();
            this.rope = new Rope(config, manager, dtype);
            this.eps = constant((float) config.rmsNormEps(), DataType.FLOAT32);
            this.scale = constant((float) (1.0 / Math.sqrt(config.headSize())), dtype);
            this.one = constant(1f, DataType.FLOAT32);
            this.maxFloat = constant(Float.MAX_VALUE, DataType.FLOAT32);
            float[] col = new float[config.hiddenSize()];
            java.util.Arrays.fill(col, 1f / config.hiddenSize());
            this.meanColumn = manager.create(col, new Shape(config.hiddenSize(), 1));
            NDScope.unregister(meanColumn);
        }
    }

    private NDArray constant(float value, DataType type) {
        NDArray a = manager.create(new float[] {value}).toType(type, false);
        NDScope.unregister(a);
        return a;
    }

    private static String qkvName(int layer) {
        return "model.layers." + layer + ".self_attn.qkv_proj";
    }

    private static String gateUpName(int layer) {
        return "model.layers." + layer + ".mlp.gate_up_proj";
    }

    private static Map<String, NDArray> fuse(LlamaConfig c, Map<String, NDArray> hf) {
        Map<String, NDArray> out = new LinkedHashMap<>(hf);
        for (int i = 0; i < c.numHiddenLayers(); i++) {
            for (String suffix : new String[] {".weight", ".bias"}) {
                fuseInto(out, qkvName(i) + suffix, projectionPath(i, "q_proj") + suffix,
                        projectionPath(i, "k_proj") + suffix, projectionPath(i, "v_proj") + suffix);
                fuseInto(out, gateUpName(i) + suffix, projectionPath(i, "gate_proj") + suffix,
                        projectionPath(i, "up_proj") + suffix);
            }
        }
        return out;
    }

    private static void fuseInto(Map<String, NDArray> map, String fused, String... parts) {
        if (!map.containsKey(parts[0])) {
            return;
        }
        NDList list = new NDList();
        for (String p : parts) {
            list.add(map.remove(p));
        }
        NDArray joined = NDArrays.concat(list, 0);
        NDScope.unregister(joined);
        list.close();
        map.put(fused, joined);
    }

    /** Module path of a projection, e.g. {@code model.layers.3.self_attn.q_proj}. */
    public static String projectionPath(int layer, String proj) {
        boolean mlp = proj.equals("gate_proj") || proj.equals("up_proj") || proj.equals("down_proj");
        return "model.layers." + layer + "." + (mlp ? "mlp" : "self_attn") + "." + proj;
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

    /**
     * The trainable base tensors as stored (q/k/v and gate/up fused, see the class comment); read-only view. Use
     * {@link #hfTensors()} for Hugging Face names.
     */
    public Map<String, NDArray> parameters() {
        return Collections.unmodifiableMap(params);
    }

    /** The base weights on the host, as float32 safetensors entries under Hugging Face names and order. */
    public Map<String, SafeTensors.Tensor> hfTensors() {
        Map<String, SafeTensors.Tensor> out = new LinkedHashMap<>();
        hfTensorsLazily().forEach((k, t) -> out.put(k, t.load()));
        return out;
    }

    /**
     * The same, each tensor copied out of the model only when it is written (a fused matrix's parts are its row
     * ranges, in the order of the Hugging Face names), so that saving holds one tensor in memory at a time.
     */
    public Map<String, SafeTensors.Lazy> hfTensorsLazily() {
        Map<String, SafeTensors.Lazy> out = new LinkedHashMap<>();
        Map<String, Long> rowsSoFar = new java.util.HashMap<>();
        for (Map.Entry<String, long[]> e : expectedShapes(config).entrySet()) {
            String name = e.getKey();
            NDArray direct = params.get(name);
            if (direct != null) {
                out.put(name, Checkpoints.lazy(direct));
                continue;
            }
            String fused = fusedNameOf(name);
            long[] shape = e.getValue();
            long n = 1;
            for (long d : shape) {
                n *= d;
            }
            long from = rowsSoFar.getOrDefault(fused, 0L);
            long to = from + shape[0];
            rowsSoFar.put(fused, to);
            out.put(name, new SafeTensors.Lazy("F32", shape, n * 4, () -> {
                try (NDArray part = params.get(fused).get(new NDIndex(from + ":" + to))) {
                    return Checkpoints.toTensor(part).data();
                }
            }));
        }
        return out;
    }

    private static String fusedNameOf(String hfName) {
        int layer = Integer.parseInt(hfName.split("\\.")[2]);
        String suffix = hfName.substring(hfName.lastIndexOf('.'));
        return (hfName.contains("self_attn.") ? qkvName(layer) : gateUpName(layer)) + suffix;
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
        try (NDScope scope = new NDScope()) {
            scope.suppressNotUsedWarning();
            for (int i = 0; i < config.numHiddenLayers(); i++) {
                mergeFused(qkvName(i) + ".weight", i, "q_proj", "k_proj", "v_proj");
                mergeFused(gateUpName(i) + ".weight", i, "gate_proj", "up_proj");
                for (String proj : new String[] {"o_proj", "down_proj"}) {
                    NDArray delta = lora.delta(projectionPath(i, proj));
                    if (delta != null) {
                        replace(projectionPath(i, proj) + ".weight",
                                params.get(projectionPath(i, proj) + ".weight").add(delta));
                    }
                }
            }
        }
        lora.close();
        lora = null;
    }

    private void mergeFused(String fused, int layer, String... parts) {
        NDArray w = params.get(fused);
        NDList deltas = new NDList();
        boolean any = false;
        for (String part : parts) {
            long rows = expectedShapes(config).get(projectionPath(layer, part) + ".weight")[0];
            NDArray d = lora.delta(projectionPath(layer, part));
            any |= d != null;
            deltas.add(d != null ? d : manager.zeros(new Shape(rows, w.getShape().get(1)), dtype));
        }
        if (any) {
            replace(fused, w.add(NDArrays.concat(deltas, 0)));
        }
    }

    private void replace(String name, NDArray value) {
        dropScriptWeights();
        NDScope.unregister(value);
        value.attach(manager);
        params.get(name).close();
        params.put(name, value);
    }

    /**
     * Runs the decoder and returns the final hidden states [B, T, hidden] (after the last RMSNorm).
     *
     * @param inputIds [B, T] int64 token ids
     * @param positions [B, T] int64 position ids (they differ from 0..T-1 for left-padded rows)
     * @param keyMask [B, S] boolean, true for real tokens (S = positions already cached + T, less the cache's
     *     {@link KvCache#first()}); null when every key is a real token
     * @param cache null to attend only within this call
     * @param training enables LoRA dropout
     */
    public NDArray forward(NDArray inputIds, NDArray positions, NDArray keyMask, KvCache cache, boolean training) {
        if (scriptApplies(training)) {
            return runScript(inputIds, positions, keyMask, cache, false);
        }
        if (scriptTrains(training, cache)) {
            return trainScript(inputIds, positions, keyMask);
        }
        Shape shape = inputIds.getShape();
        long batch = shape.get(0);
        long t = shape.get(1);
        int past = cache == null ? 0 : cache.length();
        int first = cache == null ? 0 : cache.first();
        // torch.embedding: its CPU backward sums rows deterministically (index_put would not), so resumed runs
        // reproduce uninterrupted ones bit for bit
        NDArray h = ai.djl.nn.core.Embedding.embedding(inputIds, params.get(EMBED),
                ai.djl.ndarray.types.SparseFormat.DENSE).singletonOrThrow();
        NDArray[] cosSin = rope.cosSin(positions);
        NDArray mask = attentionMask(keyMask, batch, first, past, (int) t);
        for (int i = 0; i < config.numHiddenLayers(); i++) {
            h = block(i, h, cosSin, mask, cache, training, batch, t);
        }
        if (cache != null) {
            cache.advance((int) t);
        }
        return rmsNorm(h, params.get(FINAL_NORM));
    }

    /**
     * Float32 logits [B, vocab] at the last slot of each row after running the decoder on this step's tokens (an
     * inference call: no LoRA dropout, no gradient); the same values as {@code logits(forward(...)[:, -1, :])}.
     */
    public NDArray lastLogits(NDArray inputIds, NDArray positions, NDArray keyMask, KvCache cache) {
        if (scriptApplies(false)) {
            return runScript(inputIds, positions, keyMask, cache, true);
        }
        NDArray hidden = forward(inputIds, positions, keyMask, cache, false);
        return logits(hidden.get(new NDIndex(":, -1, :"))).toType(DataType.FLOAT32, false);
    }

    /**
     * Whether forward passes run as one engine call ({@link ScriptedInference}): inference, and training without
     * LoRA; on by default. Off, every operation is its own call. Both give the same outputs and gradients.
     */
    public void scriptedInference(boolean enabled) {
        scriptEnabled = enabled;
    }

    private boolean scriptApplies(boolean training) {
        return scriptEnabled && !training && lora == null && manager instanceof PtNDManager
                && !JniUtils.isGradMode();
    }

    /** Training without LoRA runs the same program, recorded for the backward pass (see {@link #trainScript}). */
    private boolean scriptTrains(boolean training, KvCache cache) {
        return scriptEnabled && training && cache == null && lora == null && manager instanceof PtNDManager;
    }

    /**
     * The training forward as one engine call: the program is the step-by-step forward operation for operation, so
     * the loss and gradients are the same bit for bit; what changes is that the engine frees every intermediate the
     * backward pass does not need at once (the step-by-step path holds each until the step ends), which makes a
     * step faster and smaller.
     */
    private NDArray trainScript(NDArray inputIds, NDArray positions, NDArray keyMask) {
        PtNDManager pt = (PtNDManager) manager;
        List<NDArray> weights;
        List<NDArray> constants;
        NDArray none;
        synchronized (this) {
            prepareScript();
            if (scriptTrainWeights == null) {
                scriptTrainWeights = new ArrayList<>();
                for (PtNDArray w : scriptWeightArrays()) {
                    // names that DJL packs into the program's list arguments
                    w.setName("ws[]");
                    scriptTrainWeights.add(w);
                }
                scriptTrainConstants = new ArrayList<>();
                for (NDArray c : new NDArray[] {eps, scale, meanColumn, rope.inverseFrequencies(), rope.rotation()}) {
                    c.setName("consts[]");
                    scriptTrainConstants.add(c);
                }
            }
            if (noMask == null) {
                noMask = manager.create(new float[0]);
                NDScope.unregister(noMask);
            }
            weights = scriptTrainWeights;
            constants = scriptTrainConstants;
            none = noMask;
        }
        Integer window = config.slidingWindow();
        long[] ints = {config.numHiddenLayers(), config.numAttentionHeads(), config.numKeyValueHeads(),
            config.headSize(), 0, window == null ? 0 : window, 0, keyMask == null ? 0 : 1,
            dtype == DataType.FLOAT32 ? 1 : 0, 0, 0};
        scriptedCalls.incrementAndGet();
        return scripted.train(pt, inputIds, positions, keyMask == null ? none : keyMask, weights, constants, ints);
    }

    private List<NDArray> scriptTrainWeights;
    private List<NDArray> scriptTrainConstants;
    private NDArray noMask;

    private void prepareScript() {
        if (scripted == null) {
            scripted = new ScriptedInference((PtNDManager) manager);
            empty = manager.create(new float[0]).toType(dtype, false);
            NDScope.unregister(empty);
            scriptConstants = IValue.listFrom(pt(eps), pt(scale), pt(meanColumn),
                    pt(rope.inverseFrequencies()), pt(rope.rotation()));
            noCache = IValue.listFrom(new PtNDArray[0]);
        }
    }

    /** The weights in the program's order (see its header). */
    private List<PtNDArray> scriptWeightArrays() {
        List<PtNDArray> ws = new ArrayList<>();
        ws.add(pt(params.get(EMBED)));
        ws.add(pt(params.get(FINAL_NORM)));
        ws.add(pt(config.tieWordEmbeddings() ? params.get(EMBED) : params.get(LM_HEAD)));
        for (int i = 0; i < config.numHiddenLayers(); i++) {
            String p = "model.layers." + i + ".";
            String o = projectionPath(i, "o_proj");
            String down = projectionPath(i, "down_proj");
            for (String name : new String[] {p + "input_layernorm.weight", qkvName(i) + ".weight",
                    qkvName(i) + ".bias", o + ".weight", o + ".bias", p + "post_attention_layernorm.weight",
                    gateUpName(i) + ".weight", gateUpName(i) + ".bias", down + ".weight", down + ".bias"}) {
                ws.add(pt(params.getOrDefault(name, empty)));
            }
        }
        return ws;
    }

    private NDArray runScript(NDArray inputIds, NDArray positions, NDArray keyMask, KvCache cache,
                              boolean lastLogits) {
        PtNDManager pt = (PtNDManager) manager;
        IValue weights;
        synchronized (this) {
            // decode streams on several threads may make the first call together
            prepareScript();
            if (scriptWeights == null) {
                scriptWeights = IValue.listFrom(scriptWeightArrays().toArray(new PtNDArray[0]));
            }
            weights = scriptWeights;
        }
        Integer window = config.slidingWindow();
        long[] ints = {config.numHiddenLayers(), config.numAttentionHeads(), config.numKeyValueHeads(),
            config.headSize(), cache == null ? 0 : cache.length(), window == null ? 0 : window, cache == null ? 0 : 1,
            keyMask == null ? 0 : 1, dtype == DataType.FLOAT32 ? 1 : 0, lastLogits ? 1 : 0,
            cache == null ? 0 : cache.first()};
        scriptedCalls.incrementAndGet();
        NDArray out = scripted.run(pt, inputIds, positions, keyMask == null ? empty : keyMask, weights,
                scriptConstants, cache == null ? noCache : cache.keyList(), cache == null ? noCache : cache.valueList(),
                ints);
        if (cache != null) {
            cache.advance((int) inputIds.getShape().get(1));
        }
        return out;
    }

    private final java.util.concurrent.atomic.AtomicLong scriptedCalls = new java.util.concurrent.atomic.AtomicLong();

    /** Forward passes run as one call so far (inference and training). */
    long scriptedCalls() {
        return scriptedCalls.get();
    }

    private static PtNDArray pt(NDArray a) {
        return (PtNDArray) a;
    }

    private synchronized void dropScriptWeights() {
        if (scriptWeights != null) {
            scriptWeights.close();
            scriptWeights = null;
        }
        scriptTrainWeights = null;
    }

    /** Logits over the vocabulary for hidden states [..., hidden]. */
    public NDArray logits(NDArray hidden) {
        NDArray head = config.tieWordEmbeddings() ? params.get(EMBED) : params.get(LM_HEAD);
        return Linear.linear(hidden, head).singletonOrThrow();
    }

    private NDArray block(int layer, NDArray h, NDArray[] cosSin, NDArray mask, KvCache cache, boolean training,
                          long batch, long t) {
        String p = "model.layers." + layer + ".";
        int heads = config.numAttentionHeads();
        int kvHeads = config.numKeyValueHeads();
        int d = config.headSize();
        NDArray x = rmsNorm(h, params.get(p + "input_layernorm.weight"));
        NDArray qkv = linear(x, qkvName(layer));
        if (lora != null) {
            qkv = lora.addFused(qkv, x, training, layer, "q_proj", "k_proj", "v_proj");
        }
        // [B, T, heads + 2 kv, d] -> [B, heads + 2 kv, T, d]; rotary embedding on q and k together
        NDList qkAndV = qkv.reshape(batch, t, heads + 2L * kvHeads, d).transpose(0, 2, 1, 3)
                .split(new long[] {heads + kvHeads}, 1);
        NDList qk = rope.apply(qkAndV.get(0), cosSin).split(new long[] {heads}, 1);
        NDArray q = qk.get(0);
        NDArray k = qk.get(1);
        NDArray v = qkAndV.get(1);
        if (cache != null) {
            NDArray[] kv = cache.update(layer, k, v);
            k = kv[0];
            v = kv[1];
        }
        int group = heads / kvHeads;
        // grouped-query attention without copying k and v: the `group` query heads that share a key/value head
        // are adjacent, so [B, heads, T, d] views as [B, kv, group*T, d] and one batched matmul serves them all
        NDArray scores = q.reshape(batch, kvHeads, group * t, d).matMul(k.transpose(0, 1, 3, 2)).mul(scale);
        long s = k.getShape().get(2);
        if (dtype != DataType.FLOAT32) {
            scores = scores.toType(DataType.FLOAT32, false);
        }
        if (mask != null) {
            scores = scores.reshape(batch, kvHeads, group, t, s).add(mask).reshape(batch, kvHeads, group * t, s);
        }
        NDArray probs = scores.softmax(3);
        if (dtype != DataType.FLOAT32) {
            probs = probs.toType(dtype, false);
        }
        NDArray attn = probs.matMul(v).reshape(batch, heads, t, d).transpose(0, 2, 1, 3)
                .reshape(batch, t, (long) heads * d);
        h = h.add(project(layer, "o_proj", attn, training));
        x = rmsNorm(h, params.get(p + "post_attention_layernorm.weight"));
        NDArray gateUp = linear(x, gateUpName(layer));
        if (lora != null) {
            gateUp = lora.addFused(gateUp, x, training, layer, "gate_proj", "up_proj");
        }
        NDList gu = gateUp.split(2, gateUp.getShape().dimension() - 1);
        NDArray gate = gu.get(0);
        NDArray act = gate.mul(Activation.sigmoid(gate)).mul(gu.get(1));
        return h.add(project(layer, "down_proj", act, training));
    }

    private NDArray linear(NDArray x, String module) {
        NDArray bias = params.get(module + ".bias");
        NDArray w = params.get(module + ".weight");
        return (bias == null ? Linear.linear(x, w) : Linear.linear(x, w, bias)).singletonOrThrow();
    }

    private NDArray project(int layer, String proj, NDArray x, boolean training) {
        String module = projectionPath(layer, proj);
        NDArray y = linear(x, module);
        return lora == null ? y : lora.apply(module, x, y, training);
    }

    private NDArray rmsNorm(NDArray x, NDArray weight) {
        NDArray x32 = dtype == DataType.FLOAT32 ? x : x.toType(DataType.FLOAT32, false);
        // mean of squares as a matmul with a column of 1/hidden: one cheap call instead of a slow reduction
        NDArray normed = x32.div(x32.square().matMul(meanColumn).add(eps).sqrt());
        if (dtype != DataType.FLOAT32) {
            normed = normed.toType(dtype, false);
        }
        return normed.mul(weight);
    }

    /**
     * Additive mask [B, 1, 1, T, S]: 0 where query slot i may attend key slot j (j ≤ i, inside the sliding window
     * if any, and j a real token), the most negative float elsewhere. Null when nothing needs masking (one new
     * token, no padding, no window in reach).
     */
    private NDArray attentionMask(NDArray keyMask, long batch, int first, int past, int t) {
        long s = past + t - first;
        Integer window = config.slidingWindow();
        boolean windowApplies = window != null && past + t > window;
        if (t == 1 && keyMask == null && !windowApplies) {
            return null;
        }
        NDManager m = manager;
        NDArray kSlot = m.arange(first, past + t).reshape(1, s);
        NDArray qSlot = m.arange(past, past + t).reshape(t, 1);
        NDArray allowed = kSlot.lte(qSlot);
        if (windowApplies) {
            allowed = allowed.logicalAnd(qSlot.sub(kSlot).lt(window));
        }
        allowed = allowed.reshape(1, 1, 1, t, s);
        if (keyMask != null) {
            allowed = allowed.logicalAnd(keyMask.reshape(batch, 1, 1, 1, s));
        }
        return allowed.toType(DataType.FLOAT32, false).sub(one).mul(maxFloat);
    }

    @Override
    public void close() {
        if (lora != null) {
            lora.close();
        }
        dropScriptWeights();
        if (noMask != null) {
            noMask.close();
        }
        if (scripted != null) {
            scriptConstants.close();
            noCache.close();
            scripted.close();
        }
        manager.close();
    }
}
