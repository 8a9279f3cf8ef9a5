package dev.tract.judge.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.tract.judge.model.LlamaModel;
import dev.tract.judge.tokenizer.ScoreTokens;

/**
 * The training losses, differentiable through DJL's autograd.
 *
 * <ul>
 *   <li>Cross-entropy: mean over every target token of the batch of −log p(token | prefix), with p the softmax
 *       over the full vocabulary (token-level mean, as transformers' causal-LM loss).</li>
 *   <li>RAFT: mean over the examples of (y* − ŷ)², ŷ = Σ_k k·p(k) at the position that predicts the score, p the
 *       softmax over the FULL vocabulary (not renormalised; {@code renormalize} divides by Σ_k p(k) instead).</li>
 *   <li>Total: CE + λ·RAFT for cot-raft, CE alone for ce and ce-score, RAFT alone for raft.</li>
 * </ul>
 */
public final class Losses {
    private final LlamaModel model;
    private final Objective objective;
    private final double lambda;
    private final boolean renormalize;
    private final long[] scoreIds;

    /** The parts of one batch's loss; ce or raft is null when the objective has none. */
    public record Parts(NDArray total, NDArray ce, NDArray raft) {}

    public Losses(LlamaModel model, Objective objective, double lambda, boolean renormalize, ScoreTokens scores) {
        this.model = model;
        this.objective = objective;
        this.lambda = lambda;
        this.renormalize = renormalize;
        this.scoreIds = scores.ids().clone();
    }

    public Parts compute(TrainBatch b, boolean training) {
        NDManager m = model.manager();
        NDArray ids = m.create(b.ids(), new Shape(b.batch(), b.length()));
        NDArray pos = m.create(b.positions(), new Shape(b.batch(), b.length()));
        NDArray mask = b.padded() ? m.create(b.keyMask(), new Shape(b.batch(), b.length())) : null;
        NDArray hidden = model.forward(ids, pos, mask, null, training);
        NDArray flat = hidden.reshape((long) b.batch() * b.length(), hidden.getShape().get(2));
        boolean ce = objective.hasCrossEntropy() && b.ceRows().length > 0;
        return fromLogits(ce ? model.logits(flat.get(m.create(b.ceRows()))) : null, b.ceLabels(),
                objective.hasRaft() ? model.logits(flat.get(m.create(b.scoreRows()))) : null, b.gold());
    }

    /**
     * The objective from logits: cross-entropy of {@code ceLogits} [N, vocab] against {@code ceLabels} (mean over
     * the N target tokens) and RAFT of {@code scoreLogits} [B, vocab] against {@code gold} (mean over the B
     * examples); total = CE + λ·RAFT, or whichever of the two the objective has.
     */
    public Parts fromLogits(NDArray ceLogits, long[] ceLabels, NDArray scoreLogits, float[] gold) {
        NDArray ce = null;
        NDArray raft = null;
        if (ceLogits != null) {
            NDManager m = ceLogits.getManager();
            NDArray labels = m.create(ceLabels, new Shape(ceLabels.length, 1));
            ce = ceLogits.logSoftmax(1).gather(labels, 1).mean().neg();
        }
        if (scoreLogits != null) {
            raft = raft(scoreLogits, scoreLogits.getManager().create(gold));
        }
        NDArray total;
        if (ce != null && raft != null) {
            total = ce.add(raft.mul((float) lambda));
        } else {
            total = ce != null ? ce : raft;
        }
        return new Parts(total, ce, raft);
    }

    /** Expected score Σ k·p(k) for logits [N, vocab] at score positions. */
    public NDArray expectedScore(NDArray logits) {
        NDManager m = logits.getManager();
        int n = (int) logits.getShape().get(0);
        long[] idx = new long[n * scoreIds.length];
        for (int r = 0; r < n; r++) {
            System.arraycopy(scoreIds, 0, idx, r * scoreIds.length, scoreIds.length);
        }
        NDArray p = logits.softmax(1).gather(m.create(idx, new Shape(n, scoreIds.length)), 1);
        if (renormalize) {
            p = p.div(p.sum(new int[] {1}, true));
        }
        NDArray k = m.create(new float[] {1, 2, 3, 4, 5}, new Shape(scoreIds.length, 1));
        return p.matMul(k).reshape(n);
    }

    private NDArray raft(NDArray logits, NDArray gold) {
        return gold.sub(expectedScore(logits)).square().mean();
    }
}
