package dev.tract.judge.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * AdamW as PyTorch implements it (decoupled weight decay, bias-corrected moments, eps added after the square
 * root). Moments are float32 and live beside the parameters; they are part of every checkpoint.
 */
public final class AdamW {
    private final Map<String, NDArray> params;
    private final Map<String, NDArray> m = new LinkedHashMap<>();
    private final Map<String, NDArray> v = new LinkedHashMap<>();
    private final double beta1;
    private final double beta2;
    private final double eps;
    private final double weightDecay;
    private int steps;

    public AdamW(Map<String, NDArray> params, NDManager manager, double beta1, double beta2, double eps,
                 double weightDecay) {
        this.params = params;
        this.beta1 = beta1;
        this.beta2 = beta2;
        this.eps = eps;
        this.weightDecay = weightDecay;
        for (Map.Entry<String, NDArray> e : params.entrySet()) {
            NDArray zm = manager.zeros(e.getValue().getShape(), DataType.FLOAT32);
            NDArray zv = manager.zeros(e.getValue().getShape(), DataType.FLOAT32);
            NDScope.unregister(zm, zv);
            m.put(e.getKey(), zm);
            v.put(e.getKey(), zv);
        }
    }

    /** One update with the gradients currently held by the parameters. */
    public void step(double lr) {
        steps++;
        double bc1 = 1 - Math.pow(beta1, steps);
        double bc2Sqrt = Math.sqrt(1 - Math.pow(beta2, steps));
        // one scope per parameter: its temporaries (four of its size) are freed before the next one's are made, so
        // the step needs a few times the largest parameter on top of the state, not four times all of them
        for (Map.Entry<String, NDArray> e : params.entrySet()) {
            try (NDScope scope = new NDScope()) {
                scope.suppressNotUsedWarning();
                NDArray p = e.getValue();
                NDArray g = p.getGradient();
                if (weightDecay != 0) {
                    p.muli((float) (1 - lr * weightDecay));
                }
                NDArray mi = m.get(e.getKey());
                NDArray vi = v.get(e.getKey());
                mi.muli((float) beta1).addi(g.mul((float) (1 - beta1)));
                vi.muli((float) beta2).addi(g.square().muli((float) (1 - beta2)));
                NDArray denom = vi.sqrt().divi((float) bc2Sqrt).addi((float) eps);
                p.subi(mi.div(denom).muli((float) (lr / bc1)));
            }
        }
    }

    public int steps() {
        return steps;
    }

    /** First and second moments, named {@code m.<param>} and {@code v.<param>}. */
    public Map<String, NDArray> state() {
        Map<String, NDArray> s = new LinkedHashMap<>();
        m.forEach((k, a) -> s.put("m." + k, a));
        v.forEach((k, a) -> s.put("v." + k, a));
        return s;
    }

    /** Restores moments and the step count saved by {@link #state()}. */
    public void restore(Map<String, float[]> state, int stepCount) {
        m.forEach((k, a) -> a.set(state.get("m." + k)));
        v.forEach((k, a) -> a.set(state.get("v." + k)));
        this.steps = stepCount;
    }
}
