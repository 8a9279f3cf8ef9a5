package dev.tract.judge.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.tract.judge.runtime.GradMode;
import java.util.Arrays;

/** Logits of one token sequence at every position, on the host; for the command line and checks. */
public final class SequenceLogits {
    private SequenceLogits() {}

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
