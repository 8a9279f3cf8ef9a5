package dev.tract.judge.metrics;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class CorrelationsTest {
    private static final String PYTHON = System.getenv().getOrDefault("TRACT_PYTHON", "python3");

    static boolean scipy() {
        try {
            Process p = new ProcessBuilder(PYTHON, "-c", "import scipy").redirectErrorStream(true).start();
            return p.waitFor(60, TimeUnit.SECONDS) && p.exitValue() == 0;
        } catch (Exception e) {
            return false;
        }
    }

    static JsonNode scipyValues(double[] x, double[] y) throws Exception {
        String script = "import json,sys\nfrom scipy import stats\nd=json.load(sys.stdin)\n"
                + "x,y=d['x'],d['y']\nprint(json.dumps({'pearson': float(stats.pearsonr(x,y)[0]), "
                + "'spearman': float(stats.spearmanr(x,y)[0]), 'kendall': float(stats.kendalltau(x,y)[0])}))";
        Process p = new ProcessBuilder(PYTHON, "-c", script).start();
        ObjectMapper json = new ObjectMapper();
        p.getOutputStream().write(json.writeValueAsBytes(java.util.Map.of("x", x, "y", y)));
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        return json.readTree(out);
    }

    @Test
    void equalsScipyWithTiesIncluded() throws Exception {
        assumeTrue(scipy(), "python3 with scipy is needed for this comparison");
        Random rnd = new Random(4);
        for (int trial = 0; trial < 6; trial++) {
            int n = 20 + rnd.nextInt(300);
            double[] x = new double[n];
            double[] y = new double[n];
            for (int i = 0; i < n; i++) {
                x[i] = trial % 2 == 0 ? 1 + rnd.nextInt(5) : (1 + rnd.nextInt(13)) / 3.0; // heavy ties
                y[i] = trial < 3 ? x[i] * 0.6 + rnd.nextGaussian() : 1 + rnd.nextInt(5);
            }
            JsonNode want = scipyValues(x, y);
            List<Double> gold = Arrays.stream(x).boxed().toList();
            List<Double> pred = Arrays.stream(y).boxed().toList();
            Correlations.Report r = Correlations.compute(gold, pred, 0, 0);
            assertThat(r.pearson()).isCloseTo(want.get("pearson").asDouble(), within(1e-9));
            assertThat(r.spearman()).isCloseTo(want.get("spearman").asDouble(), within(1e-9));
            assertThat(r.kendall()).isCloseTo(want.get("kendall").asDouble(), within(1e-9));
        }
    }

    @Test
    void droppedPredictionsAreCountedAndIntervalsAreSeeded() {
        List<Double> gold = new ArrayList<>();
        List<Double> pred = new ArrayList<>();
        Random rnd = new Random(1);
        for (int i = 0; i < 200; i++) {
            double g = 1 + rnd.nextInt(5);
            gold.add(g);
            pred.add(i % 10 == 0 ? null : g + rnd.nextGaussian() * 0.8);
        }
        Correlations.Report a = Correlations.compute(gold, pred, 500, 7);
        assertThat(a.n()).isEqualTo(180);
        assertThat(a.nDropped()).isEqualTo(20);
        assertThat(a.pearson()).isBetween(a.ci().get("pearson").low(), a.ci().get("pearson").high());
        assertThat(a.ci().get("pearson").high() - a.ci().get("pearson").low()).isBetween(0.01, 0.3);
        assertThat(a.rmse()).isCloseTo(0.8, within(0.15));
        assertThat(Correlations.compute(gold, pred, 500, 7)).isEqualTo(a);
        assertThat(Correlations.compute(gold, pred, 500, 8).ci()).isNotEqualTo(a.ci());
    }

    @Test
    void perfectAndUndefinedCorrelations() {
        Correlations.Report perfect = Correlations.compute(List.of(1.0, 2.0, 3.0), List.of(2.0, 4.0, 6.0), 0, 0);
        assertThat(perfect.pearson()).isCloseTo(1.0, within(1e-12));
        assertThat(perfect.kendall()).isCloseTo(1.0, within(1e-12));
        Correlations.Report constant = Correlations.compute(List.of(1.0, 2.0, 3.0), List.of(3.0, 3.0, 3.0), 0, 0);
        assertThat(constant.pearson()).isNaN();
        assertThat(constant.rmse()).isCloseTo(Math.sqrt(5.0 / 3), within(1e-12));
    }
}
