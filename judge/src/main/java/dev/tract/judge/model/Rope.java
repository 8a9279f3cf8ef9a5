package dev.tract.judge.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;

/**
 * Rotary position embeddings as transformers computes them: inverse frequencies theta^(-2i/d) (with linear or
 * llama3 scaling when configured), angles = position x frequency, duplicated over both halves, and
 * x * cos + rotate_half(x) * sin.
 */
final class Rope {
    private final NDArray invFreq;
    private final NDArray rotation;
    private final DataType dtype;

    Rope(LlamaConfig c, NDManager manager, DataType dtype) {
        this.dtype = dtype;
        int d = c.headSize();
        float[] f = new float[d / 2];
        for (int i = 0; i < f.length; i++) {
            // float32 arithmetic, like torch's arange(0, d, 2).float() / d
            float exponent = (float) (2 * i) / (float) d;
            f[i] = (float) (1.0 / Math.pow(c.ropeTheta(), exponent));
        }
        LlamaConfig.RopeScaling rs = c.ropeScaling();
        if (rs != null && rs.type().equals("linear")) {
            for (int i = 0; i < f.length; i++) {
                f[i] = (float) (f[i] / rs.factor());
            }
        } else if (rs != null && rs.type().equals("llama3")) {
            double lowWavelen = rs.originalMaxPositionEmbeddings() / rs.lowFreqFactor();
            double highWavelen = rs.originalMaxPositionEmbeddings() / rs.highFreqFactor();
            for (int i = 0; i < f.length; i++) {
                double wavelen = 2 * Math.PI / f[i];
                if (wavelen > lowWavelen) {
                    f[i] = (float) (f[i] / rs.factor());
                } else if (wavelen >= highWavelen) {
                    double smooth = (rs.originalMaxPositionEmbeddings() / wavelen - rs.lowFreqFactor())
                            / (rs.highFreqFactor() - rs.lowFreqFactor());
                    f[i] = (float) ((1 - smooth) * f[i] / rs.factor() + smooth * f[i]);
                }
            }
        }
        // created in its final shape: an array made from host memory must outlive any view of it
        invFreq = manager.create(f, new ai.djl.ndarray.types.Shape(1, 1, f.length));
        NDScope.unregister(invFreq);
        // rotate_half(x) = cat(-x[d/2:], x[:d/2]) as one matmul with a signed permutation (exact: one term per sum)
        float[] r = new float[d * d];
        int half = d / 2;
        for (int j = 0; j < half; j++) {
            r[(j + half) * d + j] = -1f;
            r[j * d + j + half] = 1f;
        }
        rotation = manager.create(r, new ai.djl.ndarray.types.Shape(d, d)).toType(dtype, false);
        NDScope.unregister(rotation);
    }

    /** Inverse frequencies [1, 1, d/2] (float32). */
    NDArray inverseFrequencies() {
        return invFreq;
    }

    /** The signed permutation [d, d] that rotate_half multiplies by. */
    NDArray rotation() {
        return rotation;
    }

    /** cos and sin, each [B, 1, T, d], for positions [B, T]. */
    NDArray[] cosSin(NDArray positions) {
        long b = positions.getShape().get(0);
        long t = positions.getShape().get(1);
        NDArray freqs = positions.toType(DataType.FLOAT32, false).reshape(b, t, 1).mul(invFreq);
        NDArray emb = NDArrays.concat(new NDList(freqs, freqs), 2).expandDims(1);
        NDArray cos = emb.cos();
        NDArray sin = emb.sin();
        if (dtype != DataType.FLOAT32) {
            cos = cos.toType(dtype, false);
            sin = sin.toType(dtype, false);
        }
        return new NDArray[] {cos, sin};
    }

    /** x * cos + rotate_half(x) * sin for x [B, H, T, d]. */
    NDArray apply(NDArray x, NDArray[] cosSin) {
        return x.mul(cosSin[0]).add(x.matMul(rotation).mul(cosSin[1]));
    }
}
