package dev.tract.judge.metrics;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.BiFunction;
import org.apache.commons.math3.stat.correlation.KendallsCorrelation;
import org.apache.commons.math3.stat.correlation.PearsonsCorrelation;
import org.apache.commons.math3.stat.correlation.SpearmansCorrelation;
import org.apache.commons.math3.stat.descriptive.rank.Percentile;

/**
 * Agreement between gold and predicted scores: Pearson r, Spearman ρ (average ranks for ties), Kendall τ-b
 * (tie-aware), RMSE, with seeded percentile-bootstrap 95% intervals. The statistics come from commons-math3;
 * they equal scipy's pearsonr, spearmanr and kendalltau. Predictions that are null (unparseable decodes) are
 * dropped and counted.
 */
public final class Correlations {
    public static final int DEFAULT_RESAMPLES = 1000;

    private Correlations() {}

    /** A 95% interval; bounds are NaN when the statistic is undefined on the resamples. */
    public record Interval(double low, double high) {}

    /**
     * @param nDropped predictions that could not be used
     * @param ci intervals for pearson, spearman, kendall and rmse
     */
    public record Report(int n, int nDropped, double pearson, double spearman, double kendall, double rmse,
                         Map<String, Interval> ci) {}

    public static Report compute(List<Double> gold, List<Double> predictions, int resamples, long seed) {
        List<double[]> pairs = new ArrayList<>();
        int dropped = 0;
        for (int i = 0; i < gold.size(); i++) {
            Double p = predictions.get(i);
            Double g = gold.get(i);
            if (p == null || g == null || p.isNaN() || g.isNaN()) {
                dropped++;
            } else {
                pairs.add(new double[] {g, p});
            }
        }
        int n = pairs.size();
        double[] x = new double[n];
        double[] y = new double[n];
        for (int i = 0; i < n; i++) {
            x[i] = pairs.get(i)[0];
            y[i] = pairs.get(i)[1];
        }
        Map<String, BiFunction<double[], double[], Double>> stats = new LinkedHashMap<>();
        stats.put("pearson", Correlations::pearson);
        stats.put("spearman", Correlations::spearman);
        stats.put("kendall", Correlations::kendall);
        stats.put("rmse", Correlations::rmse);
        Map<String, Double> point = new LinkedHashMap<>();
        stats.forEach((k, f) -> point.put(k, f.apply(x, y)));
        Map<String, Interval> ci = new LinkedHashMap<>();
        if (n >= 2 && resamples > 0) {
            Map<String, double[]> samples = new LinkedHashMap<>();
            Map<String, Integer> counts = new LinkedHashMap<>();
            stats.keySet().forEach(k -> {
                samples.put(k, new double[resamples]);
                counts.put(k, 0);
            });
            Random rnd = new Random(seed);
            double[] bx = new double[n];
            double[] by = new double[n];
            for (int r = 0; r < resamples; r++) {
                for (int i = 0; i < n; i++) {
                    int j = rnd.nextInt(n);
                    bx[i] = x[j];
                    by[i] = y[j];
                }
                for (Map.Entry<String, BiFunction<double[], double[], Double>> s : stats.entrySet()) {
                    double v = s.getValue().apply(bx, by);
                    if (!Double.isNaN(v)) {
                        int c = counts.get(s.getKey());
                        samples.get(s.getKey())[c] = v;
                        counts.put(s.getKey(), c + 1);
                    }
                }
            }
            for (String k : stats.keySet()) {
                int c = counts.get(k);
                if (c == 0) {
                    ci.put(k, new Interval(Double.NaN, Double.NaN));
                } else {
                    double[] v = java.util.Arrays.copyOf(samples.get(k), c);
                    Percentile pct = new Percentile();
                    ci.put(k, new Interval(pct.evaluate(v, 2.5), pct.evaluate(v, 97.5)));
                }
            }
        }
        return new Report(n, dropped, point.get("pearson"), point.get("spearman"), point.get("kendall"),
                point.get("rmse"), ci);
    }

    static double pearson(double[] x, double[] y) {
        if (x.length < 2 || constant(x) || constant(y)) {
            return Double.NaN;
        }
        return new PearsonsCorrelation().correlation(x, y);
    }

    static double spearman(double[] x, double[] y) {
        if (x.length < 2 || constant(x) || constant(y)) {
            return Double.NaN;
        }
        return new SpearmansCorrelation().correlation(x, y);
    }

    static double kendall(double[] x, double[] y) {
        if (x.length < 2 || constant(x) || constant(y)) {
            return Double.NaN;
        }
        return new KendallsCorrelation().correlation(x, y);
    }

    static double rmse(double[] x, double[] y) {
        if (x.length == 0) {
            return Double.NaN;
        }
        double s = 0;
        for (int i = 0; i < x.length; i++) {
            s += (x[i] - y[i]) * (x[i] - y[i]);
        }
        return Math.sqrt(s / x.length);
    }

    private static boolean constant(double[] v) {
        for (double d : v) {
            if (d != v[0]) {
                return false;
            }
        }
        return true;
    }
}
