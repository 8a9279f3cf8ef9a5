package dev.tract.judge.train;

import java.util.List;

/**
 * A right-padded batch on the host, with the rows (flattened batch × position indices) where each loss reads the
 * model's output.
 *
 * @param ceRows positions whose next token is a cross-entropy target; ceLabels are those tokens
 * @param scoreRows per example, the position that predicts the score token
 */
public record TrainBatch(int batch, int length, long[] ids, long[] positions, boolean[] keyMask, boolean padded,
                         long[] ceRows, long[] ceLabels, long[] scoreRows, float[] gold, int realTokens) {

    public static TrainBatch of(List<EncodedExample> examples, long padId, Objective objective) {
        int b = examples.size();
        int len = examples.stream().mapToInt(EncodedExample::length).max().orElse(0);
        long[] ids = new long[b * len];
        long[] pos = new long[b * len];
        boolean[] mask = new boolean[b * len];
        boolean padded = false;
        int ceCount = 0;
        int real = 0;
        for (EncodedExample e : examples) {
            ceCount += ceTargets(e, objective);
            real += e.length();
        }
        long[] ceRows = new long[ceCount];
        long[] ceLabels = new long[ceCount];
        long[] scoreRows = new long[b];
        float[] gold = new float[b];
        int c = 0;
        for (int r = 0; r < b; r++) {
            EncodedExample e = examples.get(r);
            for (int t = 0; t < len; t++) {
                int at = r * len + t;
                boolean isReal = t < e.length();
                ids[at] = isReal ? e.ids()[t] : padId;
                pos[at] = t;
                mask[at] = isReal;
                padded |= !isReal;
            }
            if (objective.hasCrossEntropy()) {
                for (int t = e.promptLength(); t < e.length(); t++) {
                    if (t == e.scoreIndex() && !objective.crossEntropyOnScore()) {
                        continue;
                    }
                    ceRows[c] = (long) r * len + t - 1;
                    ceLabels[c] = e.ids()[t];
                    c++;
                }
            }
            scoreRows[r] = (long) r * len + e.scoreIndex() - 1;
            gold[r] = (float) e.gold();
        }
        return new TrainBatch(b, len, ids, pos, mask, padded, ceRows, ceLabels, scoreRows, gold, real);
    }

    private static int ceTargets(EncodedExample e, Objective objective) {
        if (!objective.hasCrossEntropy()) {
            return 0;
        }
        int n = e.length() - e.promptLength();
        return objective.crossEntropyOnScore() ? n : n - 1;
    }
}
