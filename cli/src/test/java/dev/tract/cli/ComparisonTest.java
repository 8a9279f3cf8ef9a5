package dev.tract.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tract.workflows.Values;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The table of quickstart --compare: means over seeds, undefined correlations, and the claims as paired differences
 * with bootstrap intervals, "shown" only when the interval is above zero.
 */
class ComparisonTest {
    private static Values.EvalOutcome outcome(Double pearson, int dropped, Values.CotQuality quality) {
        List<Double> ci = pearson == null ? Arrays.asList(null, null) : List.of(pearson - 0.1, pearson + 0.1);
        return new Values.EvalOutcome("synthetic", "p", "m", 200, dropped, pearson, pearson, pearson, 1.0,
                Map.of("pearson", ci, "spearman", ci, "kendall", ci), 1.0, quality);
    }

    /** Predictions that are gold plus noise of the given size, on 200 examples with balanced gold scores. */
    private static Map<String, double[]> noisy(double noise, long seed) {
        Random rnd = new Random(seed);
        Map<String, double[]> out = new LinkedHashMap<>();
        for (int i = 0; i < 200; i++) {
            double gold = 1 + i % 5;
            out.put("x" + i, new double[] {gold, gold + noise * rnd.nextGaussian()});
        }
        return out;
    }

    @Test
    void averagesOverSeedsAndCountsUndefinedCorrelations() {
        List<Comparison.Run> runs = new ArrayList<>();
        double[] tract = {0.30, 0.50, 0.10};
        Double[] decode = {0.10, null, 0.20};
        for (int s = 0; s < 3; s++) {
            runs.add(new Comparison.Run("tract", s, outcome(tract[s], 0, new Values.CotQuality(200, 200, 200, 150,
                    0)), noisy(1, s)));
            runs.add(new Comparison.Run("tract/decode", s, outcome(decode[s], s == 0 ? 2 : 0, null), noisy(1, s)));
        }
        ObjectNode summary = Comparison.summarize(runs);

        JsonNode t = summary.get("methods").get(0);
        assertThat(t.get("method").asText()).isEqualTo("tract");
        assertThat(t.get("seeds").asInt()).isEqualTo(3);
        assertThat(t.at("/pearson/mean").asDouble()).isCloseTo(0.30, within(1e-12));
        assertThat(t.at("/pearson/min").asDouble()).isCloseTo(0.10, within(1e-12));
        assertThat(t.at("/pearson/max").asDouble()).isCloseTo(0.50, within(1e-12));
        assertThat(t.at("/pearson/ci_low").asDouble()).isCloseTo(0.20, within(1e-12));
        assertThat(t.get("cot_correct").asDouble()).isCloseTo(0.75, within(1e-12));

        JsonNode d = summary.get("methods").get(1);
        // seed 1's decode judge gave every example one score: no correlation, left out of the mean and counted
        assertThat(d.at("/pearson/defined").asInt()).isEqualTo(2);
        assertThat(d.at("/pearson/mean").asDouble()).isCloseTo(0.15, within(1e-12));
        assertThat(d.get("dropped").asInt()).isEqualTo(2);

        StringWriter text = new StringWriter();
        Comparison.print(new PrintWriter(text, true), summary);
        assertThat(text.toString())
                .contains("0.300 (0.100..0.500) [0.20,0.40]")
                .contains("0.150 (0.100..0.200) [0.05,0.25] *2")
                .contains("defined in only n seeds")
                .contains("75.0%");
    }

    @Test
    void aClaimIsShownOnlyWhenItsPairedIntervalExcludesZero() {
        List<Comparison.Run> runs = new ArrayList<>();
        for (int s = 0; s < 3; s++) {
            Map<String, double[]> better = noisy(0.5, 100 + s);
            Map<String, double[]> worse = noisy(1.5, 200 + s);
            runs.add(new Comparison.Run("tract", s, outcome(0.9, 0, null), better));
            runs.add(new Comparison.Run("ce-cot", s, outcome(0.6, 0, null), worse));
            // stage 1 alone: the same judge as TRACT up to tiny noise, so the difference is near zero
            Map<String, double[]> same = new LinkedHashMap<>();
            Random rnd = new Random(300 + s);
            better.forEach((id, v) -> same.put(id, new double[] {v[0], v[1] + 0.01 * rnd.nextGaussian()}));
            runs.add(new Comparison.Run("stage1-only", s, outcome(0.9, 0, null), same));
        }
        ObjectNode summary = Comparison.summarize(runs);
        Map<String, JsonNode> claims = new LinkedHashMap<>();
        summary.get("claims").forEach(c -> claims.put(c.get("claim").asText(), c));

        JsonNode e = claims.get("e");
        assertThat(e.get("seeds").asInt()).isEqualTo(3);
        assertThat(e.get("n").asInt()).isEqualTo(600);
        assertThat(e.get("difference").asDouble()).isBetween(0.2, 0.6);
        assertThat(e.get("ci_low").asDouble()).isPositive().isLessThan(e.get("difference").asDouble());
        assertThat(e.get("shown").asBoolean()).isTrue();

        JsonNode dd = claims.get("d");
        assertThat(dd.get("ci_low").asDouble()).isLessThan(0);
        assertThat(dd.get("ci_high").asDouble()).isGreaterThan(0);
        assertThat(dd.get("shown").asBoolean()).isFalse();
        // no raft and ce-score runs: claim (b) cannot be measured and is not shown
        assertThat(claims.get("b").get("seeds").asInt()).isZero();
        assertThat(claims.get("b").get("shown").asBoolean()).isFalse();

        StringWriter text = new StringWriter();
        Comparison.print(new PrintWriter(text, true), summary);
        assertThat(text.toString()).containsPattern("\\(e\\) TRACT beats CE with CoT +\\+0\\.\\d{3} \\[\\+0\\.\\d{3}, "
                + "\\+0\\.\\d{3}\\] over 3 seed\\(s\\) +shown")
                .containsPattern("\\(d\\) .* not shown")
                .contains("(b) RAFT beats CE without CoT").contains("not measured");
    }
}
