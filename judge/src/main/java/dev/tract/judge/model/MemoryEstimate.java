package dev.tract.judge.model;

/**
 * The memory a training step or a generation batch of {@link LlamaModel} needs on its device, in bytes, counted from
 * what this implementation allocates (float32 throughout, as the pipeline runs):
 * <ul>
 *   <li>weights: every parameter;</li>
 *   <li>gradients and optimizer state: one gradient and AdamW's two moments per trainable parameter (all of them, or
 *       LoRA's A and B);</li>
 *   <li>activations of training. Full fine-tuning runs the forward as one engine call, which keeps only what the
 *       backward pass reads, per layer and token: the residual stream, the two norms' outputs and their scaled
 *       copies (6 × hidden), the q/k/v projection and the rotated q and k, the attention's contiguous copies of q,
 *       k, v and of its output (2 × q + 2 × kv), the MLP (5 × intermediate), and one attention map
 *       (batch × heads × length²) per layer.
 *       With LoRA every operation is its own call and every tensor the forward pass makes stays alive until the
 *       step ends: per layer and token the two norms (3 × hidden each), the projection, the rotary embedding
 *       (5 × (q + k)), the attention's copies (3 × q + 2 × kv), its output projections and residuals
 *       (4 × hidden), the MLP (5 × intermediate), the adapters' dropout and products, and four attention maps per
 *       layer. Then, either way, the logits of the target tokens and their log-softmax, and the backward pass's
 *       working set (three attention maps, the largest layer's gradients and the logits' gradients);</li>
 *   <li>KV cache of generation: keys and values of every layer for every row and every slot (continuous batching
 *       keeps {@link KvCache#continuousSlots} slots per row), with the prefill of a full batch of prompts as the
 *       working set;</li>
 *   <li>runtime: what the process or device holds before any model (the engine, the JVM, a CUDA context), given by
 *       the caller.</li>
 * </ul>
 */
public record MemoryEstimate(long weights, long gradients, long optimizer, long activations, long kvCache,
                             long runtime) {
    private static final long FLOAT = 4;

    public long total() {
        return weights + gradients + optimizer + activations + kvCache + runtime;
    }

    /** The same estimate on another runtime base. */
    public MemoryEstimate withRuntime(long bytes) {
        return new MemoryEstimate(weights, gradients, optimizer, activations, kvCache, bytes);
    }

    /**
     * One optimizer step.
     *
     * @param lora null for full fine-tuning
     * @param batch examples per micro-batch
     * @param length the longest padded length of a micro-batch
     * @param targetTokens the most target tokens (feedback and score) in one micro-batch
     */
    public static MemoryEstimate training(LlamaConfig c, LoraConfig lora, int batch, int length, long targetTokens,
                                          long runtime) {
        long trainable = lora == null ? c.parameterCount() : loraParameters(c, lora);
        long n = (long) batch * length;
        long h = c.hiddenSize();
        long q = (long) c.numAttentionHeads() * c.headSize();
        long kv = (long) c.numKeyValueHeads() * c.headSize();
        long i = c.intermediateSize();
        long map = (long) batch * c.numAttentionHeads() * length * length;
        long layers;
        if (lora == null) {
            // one engine call (LlamaModel's training program): what the backward pass reads stays, the rest is
            // freed at once; two more attention maps while a layer's softmax is computed
            long perToken = 6 * h + (q + 2 * kv) + (q + kv) + 2 * q + 2 * kv + 5 * i;
            layers = c.numHiddenLayers() * (n * perToken + map) + 2 * map;
        } else {
            long perToken = 10 * h + (q + 2 * kv) + 5 * (q + kv) + 3 * q + 2 * kv + 5 * i + loraPerToken(c, lora);
            layers = c.numHiddenLayers() * (n * perToken + 4 * map);
        }
        // embedding, rotary tables, the mask (bool, float and two steps of arithmetic) and the final norm
        long shared = n * h + 3L * batch * length * c.headSize() + 4L * batch * length * length + 3 * n * h;
        long vocab = c.vocabSize();
        long loss = targetTokens * (h + 2 * vocab) + 2L * batch * vocab;
        long backward = 3 * map + n * (4 * i + 4 * h + (q + 2 * kv)) + 2 * targetTokens * vocab;
        return new MemoryEstimate(c.parameterCount() * FLOAT, trainable * FLOAT, 2 * trainable * FLOAT,
                (layers + shared + loss + backward) * FLOAT, 0, runtime);
    }

    /**
     * A batch of {@code rows} generating continuously: the KV cache and the prefill of {@code rows} prompts of
     * {@code promptLength} tokens (inference frees what it no longer needs, so a layer's working set is the peak).
     */
    public static MemoryEstimate generation(LlamaConfig c, int rows, int promptLength, int maxNewTokens,
                                            long runtime) {
        long slots = KvCache.continuousSlots(promptLength, maxNewTokens);
        long kv = (long) c.numKeyValueHeads() * c.headSize();
        long cache = 2L * c.numHiddenLayers() * rows * kv * slots;
        long n = (long) rows * promptLength;
        long h = c.hiddenSize();
        long q = (long) c.numAttentionHeads() * c.headSize();
        long map = (long) rows * c.numAttentionHeads() * promptLength * promptLength;
        long layer = 3 * map + n * (4 * h + 2 * (q + 2 * kv) + 3L * c.intermediateSize());
        long shared = 2L * rows * promptLength * promptLength + 2L * rows * c.vocabSize();
        return new MemoryEstimate(c.parameterCount() * FLOAT, 0, 0, (layer + shared) * FLOAT, cache * FLOAT,
                runtime);
    }

    /** A/B of every adapted projection: rank × (in + out) per module and layer. */
    public static long loraParameters(LlamaConfig c, LoraConfig lora) {
        long per = 0;
        for (String m : lora.targetModules()) {
            long[] io = inOut(c, m);
            per += (long) lora.rank() * (io[0] + io[1]);
        }
        return per * c.numHiddenLayers();
    }

    /** Per token and layer: dropout of the input (mask and output), A x, B A x, its scaling, and the fused sums. */
    private static long loraPerToken(LlamaConfig c, LoraConfig lora) {
        if (lora == null) {
            return 0;
        }
        long sum = 0;
        for (String m : lora.targetModules()) {
            long[] io = inOut(c, m);
            sum += (lora.dropout() > 0 ? 2 * io[0] : 0) + lora.rank() + 3 * io[1];
        }
        return sum;
    }

    private static long[] inOut(LlamaConfig c, String module) {
        long h = c.hiddenSize();
        long q = (long) c.numAttentionHeads() * c.headSize();
        long kv = (long) c.numKeyValueHeads() * c.headSize();
        long i = c.intermediateSize();
        return switch (module) {
            case "q_proj" -> new long[] {h, q};
            case "k_proj", "v_proj" -> new long[] {h, kv};
            case "o_proj" -> new long[] {q, h};
            case "gate_proj", "up_proj" -> new long[] {h, i};
            case "down_proj" -> new long[] {i, h};
            default -> throw new IllegalArgumentException(module);
        };
    }
}
