package dev.tract.judge.metrics;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.apache.commons.math3.stat.descriptive.rank.Percentile;

/**
 * Whether one group of judges correlates better with gold than another, on the same examples: the difference in
 * Pearson r (mean over group A minus mean over group B), averaged over seeds, with a paired percentile-bootstrap
 * 95% interval. Each resample draws the same examples for every judge of a seed, so what the judges share (the
 * examples, their difficulty) cancels out of the difference.
 */
public final class PairedBootstrap {
    private PairedBootstrap() {}

    /**
     * One seed's predictions on one evaluation set.
     *
     * @param gold gold score per example
     * @param predictions per judge, its prediction per example (same order as gold; NaN for a dropped one)
     */
    public record Seed(double[] gold, Map<String, double[]> predictions) {}

    /**
     * @param difference mean over seeds of Pearson(A) − Pearson(B) on all examples both predicted
     * @param low 2.5th percentile of the resampled differences (NaN when undefined)
     * @param high 97.5th percentile
     * @param seeds seeds where every judge of both groups has a defined correlation
     * @param n examples per seed used, summed over those seeds
     * @param undefined resamples left out because a judge's correlation was undefined on them (a resample where
     *     it predicted one score for every example); the interval is over the others
     */
    public record Difference(double difference, double low, double high, int seeds, int n, int undefined) {
        /** The interval lies entirely above zero. */
        public boolean shown() {
            return low > 0;
        }
    }

    public static Difference pearson(List<Seed> seeds, List<String> groupA, List<String> groupB, int resamples,
                                     long rngSeed) {
        List<double[]> golds = new ArrayList<>();
        List<double[][]> as = new ArrayList<>();
        List<double[][]> bs = new ArrayList<>();
        for (Seed s : seeds) {
            int[] keep = usable(s, groupA, groupB);
            double[] g = pick(s.gold(), keep);
            double[][] a = groupA.stream().map(m -> pick(s.predictions().get(m), keep)).toArray(double[][]::new);
            double[][] b = groupB.stream().map(m -> pick(s.predictions().get(m), keep)).toArray(double[][]::new);
            if (!Double.isNaN(diff(g, a, b))) {
                golds.add(g);
                as.add(a);
                bs.add(b);
            }
        }
        if (golds.isEmpty()) {
            return new Difference(Double.NaN, Double.NaN, Double.NaN, 0, 0, 0);
        }
        double point = 0;
        int n = 0;
        for (int s = 0; s < golds.size(); s++) {
            point += diff(golds.get(s), as.get(s), bs.get(s)) / golds.size();
            n += golds.get(s).length;
        }
        Random rnd = new Random(rngSeed);
        double[] samples = new double[resamples];
        int count = 0;
        for (int r = 0; r < resamples; r++) {
            double sum = 0;
            boolean defined = true;
            for (int s = 0; s < golds.size() && defined; s++) {
                int[] idx = new int[golds.get(s).length];
                for (int i = 0; i < idx.length; i++) {
                    idx[i] = rnd.nextInt(idx.length);
                }
                double d = diff(pick(golds.get(s), idx), pickAll(as.get(s), idx), pickAll(bs.get(s), idx));
                defined = !Double.isNaN(d);
                sum += d;
            }
            if (defined) {
                samples[count++] = sum / golds.size();
            }
        }
        if (count == 0) {
            return new Difference(point, Double.NaN, Double.NaN, golds.size(), n, resamples);
        }
        double[] v = Arrays.copyOf(samples, count);
        Percentile pct = new Percentile();
        return new Difference(point, pct.evaluate(v, 2.5), pct.evaluate(v, 97.5), golds.size(), n,
                resamples - count);
    }

    /** Mean Pearson of group A minus mean Pearson of group B; NaN when any of them is undefined. */
    private static double diff(double[] gold, double[][] a, double[][] b) {
        return mean(gold, a) - mean(gold, b);
    }

    private static double mean(double[] gold, double[][] group) {
        double sum = 0;
        for (double[] p : group) {
            sum += Correlations.pearson(gold, p);
        }
        return sum / group.length;
    }

    /** The examples that every judge of both groups predicted. */
    private static int[] usable(Seed s, List<String> groupA, List<String> groupB) {
        List<Integer> keep = new ArrayList<>();
        for (int i = 0; i < s.gold().length; i++) {
            boolean ok = !Double.isNaN(s.gold()[i]);
            for (String m : groupA) {
                ok &= !Double.isNaN(predictionsOf(s, m)[i]);
            }
            for (String m : groupB) {
                ok &= !Double.isNaN(predictionsOf(s, m)[i]);
            }
            if (ok) {
                keep.add(i);
            }
        }
        return keep.stream().mapToInt(Integer::intValue).toArray();
    }

    private static double[] predictionsOf(Seed s, String judge) {
        double[] p = s.predictions().get(judge);
        if (p == null || p.length != s.gold().length) {
            throw new IllegalArgumentException("judge " + judge + " has no predictions for every example");
        }
        return p;
    }

    private static double[] pick(double[] v, int[] idx) {
        double[] out = new double[idx.length];
        for (int i = 0; i < idx.length; i++) {
            out[i] = v[idx[i]];
        }
        return out;
    }

    private static double[][] pickAll(double[][] v, int[] idx) {
        double[][] out = new double[v.length][];
        for (int k = 0; k < v.length; k++) {
            out[k] = pick(v[k], idx);
        }
        return out;
    }
}
