package dev.tract.judge.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.tract.judge.runtime.GradMode;
import java.util.Arrays;
import java.util.List;

/** Logits of one token sequence at every position, on the host; for the command line and checks. */
public final class SequenceLogits {
    private SequenceLogits() {}

    /**
     * Logits at the last position of each sequence, for a batch of sequences of different lengths (left-padded and
     * masked), as float[sequence][vocab].
     */
    public static float[][] lastPosition(LlamaModel model, List<long[]> sequences, long padId) {
        int b = sequences.size();
        int len = sequences.stream().mapToInt(s -> s.length).max().orElse(0);
        long[] ids = new long[b * len];
        long[] pos = new long[b * len];
        boolean[] mask = new boolean[b * len];
        boolean padded = false;
        for (int r = 0; r < b; r++) {
            long[] s = sequences.get(r);
            int offset = len - s.length;
            padded |= offset > 0;
            for (int j = 0; j < len; j++) {
                int at = r * len + j;
                boolean real = j >= offset;
                ids[at] = real ? s[j - offset] : padId;
                pos[at] = real ? j - offset : 1;
                mask[at] = real;
            }
        }
        NDManager m = model.manager();
        try (GradMode ignored = GradMode.disabled(); NDScope scope = new NDScope()) {
            scope.suppressNotUsedWarning();
            NDArray hidden = model.forward(m.create(ids, new Shape(b, len)), m.create(pos, new Shape(b, len)),
                    padded ? m.create(mask, new Shape(b, len)) : null, null, false);
            NDArray last = hidden.get(new ai.djl.ndarray.index.NDIndex(":, -1, :"));
            float[] flat = model.logits(last).toType(DataType.FLOAT32, false).toFloatArray();
            int v = flat.length / b;
            float[][] out = new float[b][];
            for (int r = 0; r < b; r++) {
                out[r] = Arrays.copyOfRange(flat, r * v, (r + 1) * v);
            }
            return out;
        }
    }

    /** float[position][vocab] for the given ids (no cache, no padding). */
    public static float[][] of(LlamaModel model, long[] ids) {
        int t = ids.length;
        NDManager m = model.manager();
        long[] pos = new long[t];
        for (int i = 0; i < t; i++) {
            pos[i] = i;
        }
        try (GradMode ignored = GradMode.disabled(); NDScope scope = new NDScope()) {
            scope.suppressNotUsedWarning();
            NDArray hidden = model.forward(m.create(ids, new Shape(1, t)), m.create(pos, new Shape(1, t)),
                    null, null, false);
            float[] flat = model.logits(hidden).toType(DataType.FLOAT32, false).toFloatArray();
            int v = flat.length / t;
            float[][] out = new float[t][];
            for (int i = 0; i < t; i++) {
                out[i] = Arrays.copyOfRange(flat, i * v, (i + 1) * v);
            }
            return out;
        }
    }
}
