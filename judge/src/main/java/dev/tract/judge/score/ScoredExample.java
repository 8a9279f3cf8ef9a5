package dev.tract.judge.score;

import java.util.List;

/**
 * A judge's verdict on one example.
 *
 * @param prediction the predicted score, or null when decode mode could not parse any sampled score (dropped)
 * @param predictions one prediction per feedback (null entries for unparseable decodes)
 * @param probabilities p(1)..p(5) at the score position, softmax over the full vocabulary, averaged over feedbacks
 */
public record ScoredExample(String id, double gold, Double prediction, List<Double> predictions,
                            List<String> feedbacks, double[] probabilities) {
    public boolean dropped() {
        return prediction == null;
    }
}
