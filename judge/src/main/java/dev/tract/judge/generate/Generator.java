package dev.tract.judge.generate;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.Shape;
import dev.tract.judge.model.KvCache;
import dev.tract.judge.model.LlamaModel;
import dev.tract.judge.runtime.EngineThreads;
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
        return generateIds(prompts, config, rowSeeds, null, null);
    }

    /**
     * The same, with a budget of new tokens per prompt (at most max_new_tokens; null: max_new_tokens for all), and
     * the row-steps computed and useful added to {@code stats} (may be null): a static batch runs until its
     * longest sequence ends, every finished row computing on.
     */
    public List<Generation> generateIds(List<long[]> prompts, GenerationConfig config, long[] rowSeeds,
                                        int[] budgets, BatchStats stats) {
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
        boolean[][] seen = new boolean[batch][];
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
            }
            seen[r] = seen(p, vocab);
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
                int sampled = 0;
                for (int r = 0; r < batch; r++) {
                    real[r][filled] = true;
                    positions[r][filled] = nextPos[r]++;
                    if (finish[r] != null) {
                        continue;
                    }
                    int tok = chooser.choose(logits[r], seen[r], rnd[r]);
                    sampled++;
                    tokens[r][filled] = tok;
                    seen[r][tok] = true;
                    generated.get(r).add((long) tok);
                    if (eosIds.contains((long) tok)) {
                        finish[r] = "eos";
                    } else if (stops.matches(generated.get(r))) {
                        finish[r] = "stop";
                    } else if (budgets != null && generated.get(r).size() >= budgets[r]) {
                        finish[r] = "length";
                    }
                }
                if (stats != null) {
                    stats.add(batch, sampled);
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
            out.add(finish(generated.get(r), finish[r] == null ? "length" : finish[r], stops));
        }
        return out;
    }

    /** Row-steps of a continuous batch: computed (rows times decoding steps) and useful (rows still generating). */
    public static final class BatchStats {
        private long computed;
        private long useful;

        public synchronized long computed() {
            return computed;
        }

        public synchronized long useful() {
            return useful;
        }

        synchronized void add(long computedRows, long usefulRows) {
            computed += computedRows;
            useful += usefulRows;
        }

        /** The share of computed rows that were still generating. */
        public synchronized double usefulShare() {
            return computed == 0 ? 1 : (double) useful / computed;
        }
    }

    /**
     * Continuous batching: up to {@code rows} sequences decode together, and when one finishes the next waiting
     * prompt takes its row at once (its prompt prefilled on its own, its keys and values copied into the row's
     * slots, its own positions), so rows do not compute for sequences that have ended while prompts wait. Each
     * prompt's text is the one {@link #generateIds(List, GenerationConfig, long[])} gives it alone with its seed.
     * The cache holds {@link KvCache#continuousSlots} slots per row; attention reads only the slots of the sequences
     * still decoding, a prompt joins only while its whole generation fits, and when none fits the slots before the
     * oldest live sequence are dropped. The rows run as {@link #streams} decode streams on their own threads, which
     * take the waiting prompts in order.
     *
     * @param stats row-steps computed and useful, added to (may be null)
     */
    public List<Generation> generateContinuous(List<long[]> prompts, GenerationConfig config, long[] seeds, int rows,
                                               BatchStats stats) {
        return generateContinuous(prompts, config, seeds, rows, stats, null);
    }

    /** The same, with a budget of new tokens per prompt (at most max_new_tokens; null: max_new_tokens for all). */
    public List<Generation> generateContinuous(List<long[]> prompts, GenerationConfig config, long[] seeds, int rows,
                                               BatchStats stats, int[] budgets) {
        int n = prompts.size();
        Generation[] out = new Generation[n];
        if (n == 0) {
            return List.of();
        }
        if (!config.useCache()) {
            throw new IllegalArgumentException("continuous batching needs the KV cache");
        }
        if (prompts.stream().anyMatch(p -> p.length == 0)) {
            throw new IllegalArgumentException("every prompt needs at least one token");
        }
        Queue queue = new Queue(prompts);
        int longest = prompts.stream().mapToInt(p -> p.length).max().orElseThrow();
        int streams = streams(rows);
        if (streams == 1) {
            decode(queue, new Stream(queue), prompts, longest, config, seeds, rows, stats, budgets, out);
            return java.util.Arrays.asList(out);
        }
        // each stream on its own thread with its share of the rows and of the engine's threads
        int threads = Math.max(1, EngineThreads.pin() / streams);
        java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(streams, r -> {
            Thread th = new Thread(r, "tract-decode");
            th.setDaemon(true);
            return th;
        });
        try {
            List<java.util.concurrent.Future<?>> running = new ArrayList<>();
            for (int k = 0; k < streams; k++) {
                int share = rows / streams + (k < rows % streams ? 1 : 0);
                running.add(pool.submit(() -> EngineThreads.inThisThread(threads, () -> {
                    try {
                        decode(queue, new Stream(queue), prompts, longest, config, seeds, share, stats, budgets, out);
                    } catch (RuntimeException | Error e) {
                        queue.abort(); // the other streams stop at their next step
                        throw e;
                    }
                }), null));
            }
            for (java.util.concurrent.Future<?> f : running) {
                try {
                    f.get();
                } catch (java.util.concurrent.ExecutionException e) {
                    queue.abort();
                    if (e.getCause() instanceof RuntimeException re) {
                        throw re;
                    }
                    if (e.getCause() instanceof Error err) {
                        throw err;
                    }
                    throw new IllegalStateException(e.getCause());
                } catch (InterruptedException e) {
                    queue.abort();
                    Thread.currentThread().interrupt();
                    throw new IllegalStateException("generation interrupted", e);
                }
            }
        } finally {
            queue.abort();
            pool.shutdown();
        }
        return java.util.Arrays.asList(out);
    }

    private int streams;

    /** Runs continuous batches as this many decode streams whatever the setting (0: as {@link #streams} says). */
    public Generator withStreams(int count) {
        if (count < 0) {
            throw new IllegalArgumentException("streams must be at least 0, got " + count);
        }
        streams = count;
        return this;
    }

    /** Environment variable (or system property {@code tract.generation_streams}) naming the decode streams. */
    public static final String STREAMS_ENV = "TRACT_GENERATION_STREAMS";

    /**
     * How many decode streams a continuous batch of {@code rows} runs as (never more than the rows): the setting, else
     * on the CPU one per engine thread while each keeps at least 4 rows, else 1. A decoding step of a small batch leaves cores idle (its
     * operations are small and the host picks tokens between steps); streams on their own threads, each with its
     * share of the rows and of the engine's threads, keep them busy.
     */
    public int streams(int rows) {
        if (streams > 0) {
            return Math.min(streams, rows);
        }
        String v = System.getProperty("tract.generation_streams", System.getenv(STREAMS_ENV));
        if (v != null && !v.isBlank()) {
            try {
                int s = Integer.parseInt(v.strip());
                if (s < 1) {
                    throw new NumberFormatException();
                }
                return Math.min(s, rows);
            } catch (NumberFormatException e) {
                throw new dev.tract.judge.JudgeInputException(STREAMS_ENV, null, "must be a whole number of at least 1, "
                        + "got '" + v + "'");
            }
        }
        if (model.manager().getDevice().isGpu()) {
            return 1;
        }
        return Math.max(1, Math.min(EngineThreads.pin(), rows / 4));
    }

    /**
     * The prompts not yet taken, shared by the streams of one call. A stream takes a prompt with the samples of it
     * that follow (n_cot samples are consecutive), so their prefill is computed once.
     */
    private static final class Queue {
        private final List<long[]> prompts;
        private int next;
        private volatile boolean aborted;

        Queue(List<long[]> prompts) {
            this.prompts = prompts;
        }

        synchronized void takeGroup(java.util.ArrayDeque<Integer> into) {
            if (next >= prompts.size()) {
                return;
            }
            long[] p = prompts.get(next);
            into.add(next++);
            while (next < prompts.size() && (prompts.get(next) == p || java.util.Arrays.equals(prompts.get(next), p))) {
                into.add(next++);
            }
        }

        void abort() {
            aborted = true;
        }
    }

    /** A stream's own waiting prompts, refilled a group at a time from the shared queue. */
    private static final class Stream {
        private final Queue queue;
        private final java.util.ArrayDeque<Integer> local = new java.util.ArrayDeque<>();

        Stream(Queue queue) {
            this.queue = queue;
        }

        boolean isEmpty() {
            if (local.isEmpty()) {
                queue.takeGroup(local);
            }
            return local.isEmpty();
        }

        Integer peek() {
            return isEmpty() ? null : local.peek();
        }

        int poll() {
            if (isEmpty()) {
                throw new IllegalStateException("no prompt waiting");
            }
            return local.poll();
        }
    }

    private void decode(Queue queue, Stream waiting, List<long[]> prompts, int longest, GenerationConfig config,
                        long[] seeds, int rows, BatchStats stats, int[] budgets, Generation[] out) {
        int maxNew = config.maxNewTokens();
        int capacity = KvCache.continuousSlots(longest, maxNew);
        long pad = tokenizer.padId();
        int vocab = model.config().vocabSize();
        TokenChooser chooser = new TokenChooser(config);
        StopMatcher stops = new StopMatcher(config.stopStrings(), tokenizer);
        NDManager manager = model.manager();
        while (!waiting.isEmpty()) {
            List<Integer> firstRows = new ArrayList<>();
            while (firstRows.size() < rows && !waiting.isEmpty()) {
                firstRows.add(waiting.poll());
            }
            int batch = firstRows.size();
            long[][] tokens = new long[batch][capacity];
            boolean[][] real = new boolean[batch][capacity];
            long[][] positions = new long[batch][capacity];
            int[] owner = new int[batch];
            int[] startSlot = new int[batch];
            boolean[][] seen = new boolean[batch][];
            SplittableRandom[] rnd = new SplittableRandom[batch];
            List<List<Long>> generated = new ArrayList<>();
            int[] nextPos = new int[batch];
            for (int r = 0; r < batch; r++) {
                java.util.Arrays.fill(tokens[r], pad);
                java.util.Arrays.fill(positions[r], 1);
                int idx = firstRows.get(r);
                owner[r] = idx;
                long[] p = prompts.get(idx);
                int offset = longest - p.length;
                startSlot[r] = offset;
                for (int j = 0; j < p.length; j++) {
                    tokens[r][offset + j] = p[j];
                    real[r][offset + j] = true;
                    positions[r][offset + j] = j;
                }
                seen[r] = seen(p, vocab);
                nextPos[r] = p.length;
                rnd[r] = new SplittableRandom(seeds[idx]);
                generated.add(new ArrayList<>());
            }
            Prefill shared = new Prefill();
            KvCache cache = new KvCache(manager, model.config(), batch, capacity, model.dtype());
            try (GradMode ignored = GradMode.disabled(); shared) {
                float[][] logits = step(manager, tokens, positions, real, 0, longest, cache);
                int t = longest;
                while (true) {
                    if (queue.aborted) {
                        return;
                    }
                    int sampled = 0;
                    for (int r = 0; r < batch; r++) {
                        if (owner[r] < 0) {
                            continue;
                        }
                        int tok = chooser.choose(logits[r], seen[r], rnd[r]);
                        sampled++;
                        tokens[r][t] = tok;
                        real[r][t] = true;
                        positions[r][t] = nextPos[r]++;
                        seen[r][tok] = true;
                        List<Long> g = generated.get(r);
                        g.add((long) tok);
                        int budget = budgets == null ? maxNew : Math.min(maxNew, budgets[owner[r]]);
                        String reason = eosIds.contains((long) tok) ? "eos" : stops.matches(g) ? "stop"
                                : g.size() >= budget ? "length" : null;
                        if (reason != null) {
                            out[owner[r]] = finish(g, reason, stops);
                            owner[r] = -1;
                            real[r][t] = false;
                        }
                    }
                    if (stats != null) {
                        stats.add(batch, sampled);
                    }
                    boolean free = active(owner).length < batch;
                    if (free && !waiting.isEmpty() && t + maxNew >= capacity) {
                        // no room left for a whole generation: the slots before the oldest live row's first (and
                        // before room for the longest prompt) are dropped, and the batch goes on
                        int drop = t + 1 - longest;
                        for (int r = 0; r < batch; r++) {
                            if (owner[r] >= 0) {
                                drop = Math.min(drop, startSlot[r]);
                            }
                        }
                        if (drop > 0) {
                            cache.dropBefore(drop);
                            for (int r = 0; r < batch; r++) {
                                shiftLeft(tokens[r], drop, pad);
                                shiftLeft(real[r], drop);
                                shiftLeft(positions[r], drop, 1);
                                startSlot[r] -= drop;
                            }
                            t -= drop;
                            compactions.incrementAndGet();
                        }
                    }
                    // a free row takes the next waiting prompt, if its whole generation fits in the cache
                    for (int r = 0; r < batch; r++) {
                        if (owner[r] >= 0 || waiting.isEmpty()) {
                            continue;
                        }
                        long[] p = prompts.get(waiting.peek());
                        if (p.length > t + 1 || t + maxNew >= capacity) {
                            continue;
                        }
                        int idx = waiting.poll();
                        join(cache, r, p, t, tokens, real, positions, shared);
                        startSlot[r] = t + 1 - p.length;
                        owner[r] = idx;
                        seen[r] = seen(p, vocab);
                        nextPos[r] = p.length;
                        rnd[r] = new SplittableRandom(seeds[idx]);
                        generated.set(r, new ArrayList<>());
                    }
                    int[] keep = active(owner);
                    if (keep.length == 0) {
                        break;
                    }
                    // no prompt can take a free row any more: stop computing it
                    if (keep.length < batch && (waiting.isEmpty() || t + maxNew >= capacity)) {
                        KvCache kept = cache.keepRows(manager, keep);
                        cache.close();
                        cache = kept;
                        tokens = pick(tokens, keep);
                        real = pick(real, keep);
                        positions = pick(positions, keep);
                        seen = pick(seen, keep);
                        rnd = pick(rnd, keep);
                        owner = pick(owner, keep);
                        startSlot = pick(startSlot, keep);
                        nextPos = pick(nextPos, keep);
                        List<List<Long>> g = new ArrayList<>();
                        for (int r : keep) {
                            g.add(generated.get(r));
                        }
                        generated = g;
                        logits = pick(logits, keep);
                        batch = keep.length;
                    }
                    // attention reads only the slots of the sequences still in the batch
                    int firstLive = t;
                    for (int r = 0; r < batch; r++) {
                        if (owner[r] >= 0) {
                            firstLive = Math.min(firstLive, startSlot[r]);
                        }
                    }
                    cache.attendFrom(firstLive);
                    logits = step(manager, tokens, positions, real, t, t + 1, cache);
                    t++;
                }
            } finally {
                cache.close();
            }
        }
    }

    private static void shiftLeft(long[] row, int by, long fill) {
        System.arraycopy(row, by, row, 0, row.length - by);
        java.util.Arrays.fill(row, row.length - by, row.length, fill);
    }

    private static void shiftLeft(boolean[] row, int by) {
        System.arraycopy(row, by, row, 0, row.length - by);
        java.util.Arrays.fill(row, row.length - by, row.length, false);
    }

    private final java.util.concurrent.atomic.AtomicLong compactions = new java.util.concurrent.atomic.AtomicLong();

    /** Times a continuous batch dropped the slots of ended sequences from its cache to take more prompts. */
    public long compactions() {
        return compactions.get();
    }

    private static int[] active(int[] owner) {
        int n = 0;
        int[] keep = new int[owner.length];
        for (int r = 0; r < owner.length; r++) {
            if (owner[r] >= 0) {
                keep[n++] = r;
            }
        }
        return java.util.Arrays.copyOf(keep, n);
    }

    /** The given rows of an array (of any element type, primitive too), in that order. */
    @SuppressWarnings("unchecked")
    private static <T> T pick(T rows, int[] keep) {
        Object out = java.lang.reflect.Array.newInstance(rows.getClass().getComponentType(), keep.length);
        for (int i = 0; i < keep.length; i++) {
            java.lang.reflect.Array.set(out, i, java.lang.reflect.Array.get(rows, keep[i]));
        }
        return (T) out;
    }

    private static boolean[] seen(long[] prompt, int vocab) {
        boolean[] seen = new boolean[vocab];
        for (long id : prompt) {
            if (id >= 0 && id < vocab) {
                seen[(int) id] = true;
            }
        }
        return seen;
    }

    /**
     * Puts a prompt into row {@code r} so that its last token is at slot {@code t}, which the next decoding step
     * runs: the tokens before it are prefilled on their own and their keys and values copied into the row.
     */
    /**
     * The keys and values of the last prompt prefilled alone: the n_cot samples of one prompt, which follow each
     * other, compute them once and share them.
     */
    private static final class Prefill implements AutoCloseable {
        long[] prompt;
        KvCache cache;

        @Override
        public void close() {
            if (cache != null) {
                cache.close();
            }
        }
    }

    private void join(KvCache cache, int r, long[] p, int t, long[][] tokens, boolean[][] real, long[][] positions,
                      Prefill shared) {
        int start = t + 1 - p.length;
        java.util.Arrays.fill(real[r], false);
        for (int j = 0; j < p.length; j++) {
            tokens[r][start + j] = p[j];
            real[r][start + j] = true;
            positions[r][start + j] = j;
        }
        int before = p.length - 1;
        if (before == 0) {
            return;
        }
        if (shared.cache == null || !java.util.Arrays.equals(shared.prompt, p)) {
            shared.close();
            NDManager manager = model.manager();
            shared.cache = new KvCache(manager, model.config(), 1, before, model.dtype());
            shared.prompt = p;
            prefills.incrementAndGet();
            try (NDScope scope = new NDScope()) {
                scope.suppressNotUsedWarning();
                long[] pos = new long[before];
                for (int j = 0; j < before; j++) {
                    pos[j] = j;
                }
                NDArray ids = manager.create(java.util.Arrays.copyOf(p, before), new Shape(1, before));
                NDArray posArray = manager.create(pos, new Shape(1, before));
                model.forward(ids, posArray, null, shared.cache, false);
            }
        }
        cache.copyRow(shared.cache, before, r, start);
    }

    private final java.util.concurrent.atomic.AtomicLong prefills = new java.util.concurrent.atomic.AtomicLong();

    /** Prompts prefilled on their own to join a continuous batch (a prompt shared by n_cot samples counts once). */
    public long prefills() {
        return prefills.get();
    }

    private Generation finish(List<Long> generated, String reason, StopMatcher stops) {
        long[] ids = generated.stream().mapToLong(Long::longValue).toArray();
        String text = tokenizer.decode(ids, true);
        if (reason.equals("stop")) {
            text = stops.cutAfter(text);
        }
        return new Generation(text, ids, reason);
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
        int first = cache == null ? 0 : cache.first();
        int keys = to - first;
        long[] ids = new long[batch * t];
        long[] pos = new long[batch * t];
        boolean[] mask = real == null ? null : new boolean[batch * keys];
        for (int r = 0; r < batch; r++) {
            System.arraycopy(tokens[r], from, ids, r * t, t);
            System.arraycopy(positions[r], from, pos, r * t, t);
            if (mask != null) {
                System.arraycopy(real[r], first, mask, r * keys, keys);
            }
        }
        try (NDScope scope = new NDScope()) {
            scope.suppressNotUsedWarning();
            NDArray idArray = manager.create(ids, new Shape(batch, t));
            NDArray posArray = manager.create(pos, new Shape(batch, t));
            NDArray maskArray = mask == null ? null : manager.create(mask, new Shape(batch, keys));
            float[] flat = model.lastLogits(idArray, posArray, maskArray, cache).toFloatArray();
            int vocab = flat.length / batch;
            float[][] rows = new float[batch][];
            for (int r = 0; r < batch; r++) {
                rows[r] = java.util.Arrays.copyOfRange(flat, r * vocab, (r + 1) * vocab);
            }
            return rows;
        }
    }
}
