package dev.tract.judge.generate;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import dev.tract.judge.model.KvCache;
import dev.tract.judge.model.LlamaModel;
import dev.tract.judge.runtime.GradMode;
import dev.tract.judge.tokenizer.JudgeTokenizer;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;

/**
 * Batched autoregressive generation. Prompts of different lengths are left-padded and masked; with the KV cache
 * each step runs the model on one new token per row, writing keys and values in place into a cache sized for
 * prompt + max new tokens, so memory does not grow with the number of tokens generated. Token choice happens on
 * the host with a random stream per row derived from the seed, so the same seed gives the same text whatever the
 * device.
 */
public final class Generator {
    private final LlamaModel model;
    private final JudgeTokenizer tokenizer;
    private final Set<Long> eosIds = new HashSet<>();

    public Generator(LlamaModel model, JudgeTokenizer tokenizer) {
        this.model = model;
        this.tokenizer = tokenizer;
        model.config().eosTokenIds().forEach(id -> eosIds.add((long) id));
        long eos = tokenizer.singleTokenId(tokenizer.eosToken());
        if (eos >= 0) {
            eosIds.add(eos);
        }
    }

    /** Generates one continuation per prompt text (the tokenizer's special tokens, e.g. BOS, are added). */
    public List<Generation> generate(List<String> prompts, GenerationConfig config) {
        List<long[]> ids = new ArrayList<>();
        for (String p : prompts) {
            ids.add(tokenizer.encode(p, true));
        }
        return generateIds(ids, config);
    }

    /** Generates one continuation per tokenised prompt; row r draws from a stream seeded by (seed, r). */
    public List<Generation> generateIds(List<long[]> prompts, GenerationConfig config) {
        long[] seeds = new long[prompts.size()];
        for (int r = 0; r < seeds.length; r++) {
            seeds[r] = config.seed() * 0x9E3779B97F4A7C15L + r;
        }
        return generateIds(prompts, config, seeds);
    }

    /**
     * Generates one continuation per tokenised prompt, row r drawing from a stream seeded by {@code rowSeeds[r]}:
     * a row's text then does not depend on which other prompts share its batch.
     */
    public List<Generation> generateIds(List<long[]> prompts, GenerationConfig config, long[] rowSeeds) {
        int batch = prompts.size();
        int promptLen = prompts.stream().mapToInt(p -> p.length).max().orElse(0);
        if (promptLen == 0) {
            throw new IllegalArgumentException("every prompt needs at least one token");
        }
        int capacity = promptLen + config.maxNewTokens();
        boolean padded = prompts.stream().anyMatch(p -> p.length != promptLen);
        long pad = tokenizer.padId();
        long[][] tokens = new long[batch][capacity];
        boolean[][] real = new boolean[batch][capacity];
        long[][] positions = new long[batch][capacity];
        int vocab = model.config().vocabSize();
        boolean[][] seen = new boolean[batch][vocab];
        SplittableRandom[] rnd = new SplittableRandom[batch];
        List<List<Long>> generated = new ArrayList<>();
        String[] finish = new String[batch];
        int[] nextPos = new int[batch];
        for (int r = 0; r < batch; r++) {
            long[] p = prompts.get(r);
            int offset = promptLen - p.length;
            for (int j = 0; j < capacity; j++) {
                tokens[r][j] = pad;
                positions[r][j] = 1;
            }
            for (int j = 0; j < p.length; j++) {
                tokens[r][offset + j] = p[j];
                real[r][offset + j] = true;
                positions[r][offset + j] = j;
                if (p[j] >= 0 && p[j] < vocab) {
                    seen[r][(int) p[j]] = true;
                }
            }
            nextPos[r] = p.length;
            rnd[r] = new SplittableRandom(rowSeeds[r]);
            generated.add(new ArrayList<>());
        }
        TokenChooser chooser = new TokenChooser(config);
        StopMatcher stops = new StopMatcher(config.stopStrings(), tokenizer);
        NDManager manager = model.manager();
        try (GradMode ignored = GradMode.disabled();
             KvCache cache = config.useCache()
                     ? new KvCache(manager, model.config(), batch, capacity, model.dtype()) : null) {
            int filled = promptLen;
            boolean[][] mask = padded ? real : null;
            float[][] logits = step(manager, tokens, positions, mask, 0, filled, cache);
            for (int n = 0; n < config.maxNewTokens(); n++) {
                for (int r = 0; r < batch; r++) {
                    real[r][filled] = true;
                    positions[r][filled] = nextPos[r]++;
                    if (finish[r] != null) {
                        continue;
                    }
                    int tok = chooser.choose(logits[r], seen[r], rnd[r]);
                    tokens[r][filled] = tok;
                    seen[r][tok] = true;
                    generated.get(r).add((long) tok);
                    if (eosIds.contains((long) tok)) {
                        finish[r] = "eos";
                    } else if (stops.matches(generated.get(r))) {
                        finish[r] = "stop";
                    }
                }
                filled++;
                boolean done = true;
                for (String f : finish) {
                    done &= f != null;
                }
                if (done || n == config.maxNewTokens() - 1) {
                    break;
                }
                logits = cache == null
                        ? step(manager, tokens, positions, mask, 0, filled, null)
                        : step(manager, tokens, positions, mask, filled - 1, filled, cache);
            }
        }
        List<Generation> out = new ArrayList<>();
        for (int r = 0; r < batch; r++) {
            long[] ids = generated.get(r).stream().mapToLong(Long::longValue).toArray();
            String text = tokenizer.decode(ids, true);
            String reason = finish[r] == null ? "length" : finish[r];
            if (reason.equals("stop")) {
                text = stops.cutAfter(text);
            }
            out.add(new Generation(text, ids, reason));
        }
        return out;
    }

    /**
     * Runs slots [from, to) through the model and returns the logits at slot to-1 for every row.
     *
     * @param real which slots hold real tokens, or null when no row is padded
     */
    private float[][] step(NDManager manager, long[][] tokens, long[][] positions, boolean[][] real, int from,
                           int to, KvCache cache) {
        int batch = tokens.length;
        int t = to - from;
        long[] ids = new long[batch * t];
        long[] pos = new long[batch * t];
        boolean[] mask = real == null ? null : new boolean[batch * to];
        for (int r = 0; r < batch; r++) {
            System.arraycopy(tokens[r], from, ids, r * t, t);
            System.arraycopy(positions[r], from, pos, r * t, t);
            if (mask != null) {
                System.arraycopy(real[r], 0, mask, r * to, to);
            }
        }
        try (NDScope scope = new NDScope()) {
            scope.suppressNotUsedWarning();
            NDArray idArray = manager.create(ids, new Shape(batch, t));
            NDArray posArray = manager.create(pos, new Shape(batch, t));
            NDArray maskArray = mask == null ? null : manager.create(mask, new Shape(batch, to));
            NDArray hidden = model.forward(idArray, posArray, maskArray, cache, false);
            NDArray last = hidden.get(new NDIndex(":, -1, :"));
            float[] flat = model.logits(last).toType(ai.djl.ndarray.types.DataType.FLOAT32, false).toFloatArray();
            int vocab = flat.length / batch;
            float[][] rows = new float[batch][];
            for (int r = 0; r < batch; r++) {
                rows[r] = java.util.Arrays.copyOfRange(flat, r * vocab, (r + 1) * vocab);
            }
            return rows;
        }
    }
}
