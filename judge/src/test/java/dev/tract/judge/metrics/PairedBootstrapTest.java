package dev.tract.judge.metrics;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.List;
import java.util.Map;
import java.util.Random;
import org.apache.commons.math3.stat.correlation.PearsonsCorrelation;
import org.junit.jupiter.api.Test;

class PairedBootstrapTest {
    private static double[] gold(int n) {
        double[] g = new double[n];
        for (int i = 0; i < n; i++) {
            g[i] = 1 + i % 5;
        }
        return g;
    }

    private static double[] noisy(double[] gold, double noise, long seed) {
        Random rnd = new Random(seed);
        double[] p = new double[gold.length];
        for (int i = 0; i < p.length; i++) {
            p[i] = gold[i] + noise * rnd.nextGaussian();
        }
        return p;
    }

    @Test
    void thePointEstimateIsTheMeanOverSeedsOfThePearsonDifference() {
        double[] g = gold(100);
        double[] a0 = noisy(g, 0.5, 1);
        double[] b0 = noisy(g, 1.0, 2);
        double[] a1 = noisy(g, 0.7, 3);
        double[] b1 = noisy(g, 0.9, 4);
        PearsonsCorrelation r = new PearsonsCorrelation();
        double expected = ((r.correlation(g, a0) - r.correlation(g, b0)) + (r.correlation(g, a1)
                - r.correlation(g, b1))) / 2;
        PairedBootstrap.Difference d = PairedBootstrap.pearson(List.of(
                new PairedBootstrap.Seed(g, Map.of("a", a0, "b", b0)),
                new PairedBootstrap.Seed(g, Map.of("a", a1, "b", b1))), List.of("a"), List.of("b"), 500, 1);
        assertThat(d.difference()).isCloseTo(expected, within(1e-12));
        assertThat(d.seeds()).isEqualTo(2);
        assertThat(d.n()).isEqualTo(200);
        assertThat(d.low()).isLessThan(d.difference());
        assertThat(d.high()).isGreaterThan(d.difference());
        assertThat(d.shown()).isTrue();
    }

    /** The same judge on both sides: every resample pairs it with itself, so the interval is exactly zero. */
    @Test
    void aJudgeComparedWithItselfShowsNothing() {
        double[] g = gold(50);
        double[] p = noisy(g, 1, 5);
        PairedBootstrap.Difference d = PairedBootstrap.pearson(List.of(new PairedBootstrap.Seed(g, Map.of("a", p,
                "b", p.clone()))), List.of("a"), List.of("b"), 200, 2);
        assertThat(d.difference()).isZero();
        assertThat(d.low()).isZero();
        assertThat(d.high()).isZero();
        assertThat(d.shown()).isFalse();
    }

    /** Dropped predictions (NaN) leave their example out for both sides; a constant judge leaves its seed out. */
    @Test
    void droppedExamplesAndUndefinedCorrelationsAreLeftOut() {
        double[] g = gold(40);
        double[] a = noisy(g, 0.3, 6);
        double[] b = noisy(g, 0.3, 7);
        a[3] = Double.NaN;
        b[8] = Double.NaN;
        double[] constant = new double[40];
        java.util.Arrays.fill(constant, 3);
        PairedBootstrap.Difference d = PairedBootstrap.pearson(List.of(new PairedBootstrap.Seed(g, Map.of("a", a,
                "b", b)), new PairedBootstrap.Seed(g, Map.of("a", a, "b", constant))), List.of("a"), List.of("b"),
                100, 3);
        assertThat(d.seeds()).isEqualTo(1);
        assertThat(d.n()).isEqualTo(38);
    }
}
