package dev.tract.judge.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.IValue;

/**
 * Keys and values of every layer, preallocated for {@code capacity} positions and written in place, so that
 * generating more tokens never allocates more than this cache.
 */
public final class KvCache implements AutoCloseable {
    private final NDManager manager;
    private final NDArray[] keys;
    private final NDArray[] values;
    private final int capacity;
    private int length;
    private int first;
    private IValue keyList;
    private IValue valueList;

    public KvCache(NDManager parent, LlamaConfig config, int batch, int capacity, DataType dtype) {
        this.manager = parent.newSubManager();
        this.capacity = capacity;
        int layers = config.numHiddenLayers();
        keys = new NDArray[layers];
        values = new NDArray[layers];
        Shape shape = new Shape(batch, config.numKeyValueHeads(), capacity, config.headSize());
        for (int i = 0; i < layers; i++) {
            keys[i] = manager.zeros(shape, dtype);
            values[i] = manager.zeros(shape, dtype);
            NDScope.unregister(keys[i], values[i]);
        }
    }

    /**
     * Slots per row of a continuous batch's cache: the longest prompt and three times max_new_tokens, so that after
     * the slots of ended sequences are dropped (a live sequence spans at most a prompt and max_new_tokens) a whole
     * generation still fits.
     */
    public static int continuousSlots(int longestPrompt, int maxNewTokens) {
        return longestPrompt + 3 * maxNewTokens;
    }

    /** Number of positions already stored. */
    public int length() {
        return length;
    }

    public int capacity() {
        return capacity;
    }

    /** The first slot attention reads; the slots before it are held but skipped. */
    public int first() {
        return first;
    }

    /**
     * Makes attention read only slots {@code slot} onwards: a continuous batch whose rows all started after a slot
     * does not compute over the slots of sequences that have ended. The key mask passed with the next forward pass
     * covers slots {@code first()} to the end.
     */
    public void attendFrom(int slot) {
        if (slot < 0 || slot > length) {
            throw new IllegalArgumentException("slot " + slot + " is outside the " + length + " stored");
        }
        first = slot;
    }

    /**
     * Moves the stored slots {@code from..length-1} to {@code 0..length-from-1} in every row and layer and forgets
     * the ones before: a continuous batch makes room for more prompts without waiting for its rows to finish.
     * Attention then reads from slot 0.
     */
    public void dropBefore(int from) {
        if (from < 0 || from > length) {
            throw new IllegalArgumentException("slot " + from + " is outside the " + length + " stored");
        }
        int kept = length - from;
        if (from > 0 && kept > 0) {
            NDIndex src = new NDIndex().addAllDim(2).addSliceDim(from, length);
            NDIndex dst = new NDIndex().addAllDim(2).addSliceDim(0, kept);
            for (NDArray[] arrays : new NDArray[][] {keys, values}) {
                for (NDArray a : arrays) {
                    // copied out first: source and destination overlap
                    try (NDArray view = a.get(src); NDArray moved = view.duplicate()) {
                        a.set(dst, moved);
                    }
                }
            }
        }
        length = kept;
        first = 0;
    }

    /**
     * Stores this step's keys and values ([B, kvHeads, T, D]) after the ones already held and returns views of
     * everything stored so far for the layer from {@link #first()} on.
     */
    NDArray[] update(int layer, NDArray k, NDArray v) {
        int t = (int) k.getShape().get(2);
        if (length + t > capacity) {
            throw new IllegalStateException("KV cache holds " + capacity + " positions; " + (length + t)
                    + " were needed");
        }
        NDIndex slot = new NDIndex().addAllDim(2).addSliceDim(length, length + t);
        keys[layer].set(slot, k);
        values[layer].set(slot, v);
        NDIndex used = new NDIndex().addAllDim(2).addSliceDim(first, length + t);
        return new NDArray[] {keys[layer].get(used), values[layer].get(used)};
    }

    /**
     * Copies the first {@code count} positions of row 0 of another cache into row {@code row} of this one, at
     * positions {@code at..at+count-1}: a prompt prefilled on its own joins a batch already decoding.
     */
    public void copyRow(KvCache from, int count, int row, int at) {
        if (count == 0) {
            return;
        }
        NDIndex src = new NDIndex().addSliceDim(0, 1).addAllDim().addSliceDim(0, count);
        NDIndex dst = new NDIndex().addSliceDim(row, row + 1).addAllDim().addSliceDim(at, at + count);
        for (int i = 0; i < keys.length; i++) {
            try (NDArray k = from.keys[i].get(src); NDArray v = from.values[i].get(src)) {
                keys[i].set(dst, k);
                values[i].set(dst, v);
            }
        }
    }

    /**
     * A new cache holding only the given rows of this one (in that order), with the same positions stored: a
     * continuous batch drops its finished rows once no prompt can take them.
     */
    public KvCache keepRows(NDManager parent, int[] rows) {
        KvCache out = new KvCache(parent, capacity, keys.length);
        out.length = length;
        out.first = first;
        try (NDArray index = manager.create(java.util.Arrays.stream(rows).mapToLong(r -> r).toArray())) {
            for (int i = 0; i < keys.length; i++) {
                out.keys[i] = keys[i].get(index);
                out.values[i] = values[i].get(index);
                out.keys[i].attach(out.manager);
                out.values[i].attach(out.manager);
                NDScope.unregister(out.keys[i], out.values[i]);
            }
        }
        return out;
    }

    private KvCache(NDManager parent, int capacity, int layers) {
        this.manager = parent.newSubManager();
        this.capacity = capacity;
        keys = new NDArray[layers];
        values = new NDArray[layers];
    }

    /** Every layer's key tensor as one engine list, for the one-call inference pass (which writes into them). */
    IValue keyList() {
        if (keyList == null) {
            keyList = IValue.listFrom(java.util.Arrays.copyOf(keys, keys.length,
                    PtNDArray[].class));
        }
        return keyList;
    }

    /** Every layer's value tensor as one engine list, see {@link #keyList()}. */
    IValue valueList() {
        if (valueList == null) {
            valueList = IValue.listFrom(java.util.Arrays.copyOf(values, values.length,
                    PtNDArray[].class));
        }
        return valueList;
    }

    /** Marks {@code t} more positions as stored; called once per forward pass, after every layer. */
    void advance(int t) {
        length += t;
    }

    @Override
    public void close() {
        if (keyList != null) {
            keyList.close();
            valueList.close();
        }
        manager.close();
    }
}
