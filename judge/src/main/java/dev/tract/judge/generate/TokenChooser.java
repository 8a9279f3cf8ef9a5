package dev.tract.judge.generate;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Picks the next token from one row of logits on the host, with Hugging Face's logits processors: repetition
 * penalty (divide positive, multiply negative logits of tokens already in the sequence), temperature, top-k,
 * top-p (drop the lowest-probability tokens whose cumulative probability is at most 1 - p, keeping at least one),
 * then argmax or a draw from the softmax.
 */
public final class TokenChooser {
    private final GenerationConfig config;

    public TokenChooser(GenerationConfig config) {
        this.config = config;
    }

    /** Picks a token; {@code seen} marks tokens already in the sequence (for the repetition penalty), or null. */
    public int choose(float[] logits, boolean[] seen, SplittableRandom rnd) {
        int v = logits.length;
        double[] s = new double[v];
        float rp = (float) config.repetitionPenalty();
        for (int i = 0; i < v; i++) {
            float l = logits[i];
            if (rp != 1f && seen != null && seen[i]) {
                l = l < 0 ? l * rp : l / rp;
            }
            s[i] = l;
        }
        if (!config.sample()) {
            return argMax(s);
        }
        for (int i = 0; i < v; i++) {
            s[i] /= config.temperature();
        }
        if (config.topK() > 0 && config.topK() < v) {
            double[] sorted = s.clone();
            Arrays.sort(sorted);
            double kth = sorted[v - config.topK()];
            for (int i = 0; i < v; i++) {
                if (s[i] < kth) {
                    s[i] = Double.NEGATIVE_INFINITY;
                }
            }
        }
        double max = Arrays.stream(s).max().orElse(0);
        double[] p = new double[v];
        double total = 0;
        for (int i = 0; i < v; i++) {
            p[i] = Math.exp(s[i] - max);
            total += p[i];
        }
        if (config.topP() < 1.0) {
            // tokens in ascending order of score (ties by id, as a stable sort of the ids would give) are removed
            // while their cumulative probability stays at most 1 - p. Sorting the scores themselves (primitive,
            // no boxed ids) finds how many; equal scores have equal probabilities, so the sums are the same.
            double[] sorted = s.clone();
            Arrays.sort(sorted);
            double cumulative = 0;
            double removed = 0;
            int count = 0;
            for (int j = 0; j < v - 1; j++) {
                double pj = Math.exp(sorted[j] - max);
                cumulative += pj / total;
                if (cumulative <= 1 - config.topP()) {
                    removed += pj;
                    count++;
                } else {
                    break;
                }
            }
            if (count > 0) {
                double threshold = sorted[count - 1];
                int ties = 0;
                for (int j = count - 1; j >= 0 && Double.compare(sorted[j], threshold) == 0; j--) {
                    ties++;
                }
                for (int i = 0; i < v; i++) {
                    int c = Double.compare(s[i], threshold);
                    if (c < 0) {
                        p[i] = 0;
                    } else if (c == 0 && ties > 0) {
                        p[i] = 0;
                        ties--;
                    }
                }
            }
            total -= removed;
        }
        double u = rnd.nextDouble() * total;
        int last = -1;
        for (int i = 0; i < v; i++) {
            if (p[i] > 0) {
                last = i;
                u -= p[i];
                if (u < 0) {
                    return i;
                }
            }
        }
        return last;
    }

    static int argMax(double[] s) {
        int best = 0;
        for (int i = 1; i < s.length; i++) {
            if (s[i] > s[best]) {
                best = i;
            }
        }
        return best;
    }
}
