package dev.tract.judge.generate;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class TokenChooserTest {
    /**
     * Top-p as Hugging Face's TopPLogitsWarper defines it, written plainly: ids sorted ascending by score with a
     * stable sort, the lowest removed while their cumulative probability is at most 1 - p (at least one kept),
     * then a draw from what is left.
     */
    private static int reference(double[] scores, double topP, SplittableRandom rnd) {
        int v = scores.length;
        double max = Arrays.stream(scores).max().orElse(0);
        double[] p = new double[v];
        double total = 0;
        for (int i = 0; i < v; i++) {
            p[i] = Math.exp(scores[i] - max);
            total += p[i];
        }
        Integer[] order = new Integer[v];
        for (int i = 0; i < v; i++) {
            order[i] = i;
        }
        Arrays.sort(order, (a, b) -> Double.compare(scores[a], scores[b]));
        double cumulative = 0;
        double removed = 0;
        for (int j = 0; j < v - 1; j++) {
            int i = order[j];
            cumulative += p[i] / total;
            if (cumulative > 1 - topP) {
                break;
            }
            removed += p[i];
            p[i] = 0;
        }
        double u = rnd.nextDouble() * (total - removed);
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

    @Test
    void topPDrawsExactlyWhatTheStableSortDefinitionDraws() {
        SplittableRandom data = new SplittableRandom(7);
        java.util.Set<Integer> drawn = new java.util.HashSet<>();
        for (int trial = 0; trial < 400; trial++) {
            int v = 5 + data.nextInt(300);
            float[] logits = new float[v];
            for (int i = 0; i < v; i++) {
                // few distinct values in some trials, so that ties fall on the cut
                logits[i] = trial % 2 == 0 ? (float) (data.nextGaussian() * 3) : data.nextInt(6) - 3f;
            }
            double topP = 0.5 + 0.45 * data.nextDouble();
            GenerationConfig cfg = new GenerationConfig(16, true, 1.0, 0, topP, 1.0, List.of(), 0, true);
            double[] scores = new double[v];
            for (int i = 0; i < v; i++) {
                scores[i] = logits[i];
            }
            int ours = new TokenChooser(cfg).choose(logits, null, new SplittableRandom(trial));
            int theirs = reference(scores, topP, new SplittableRandom(trial));
            assertThat(ours).as("trial %d", trial).isEqualTo(theirs);
            drawn.add(ours);
        }
        assertThat(drawn).as("tokens drawn").hasSizeGreaterThan(20);
    }
}
