package dev.tract.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tract.workflows.Values;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The table of quickstart --compare: means over seeds, undefined correlations, the paired RAIL-decode gap. */
class ComparisonTest {
    private static Values.PipelineResult result(Double pearson, int dropped) {
        List<Double> ci = pearson == null ? Arrays.asList(null, null) : List.of(pearson - 0.1, pearson + 0.1);
        Values.EvalOutcome e = new Values.EvalOutcome("synthetic", "p", "m", 200, dropped, pearson, pearson,
                pearson, 1.0, Map.of("pearson", ci, "spearman", ci, "kendall", ci), 1.0);
        return new Values.PipelineResult("id", "COMPLETED", "r", List.of(), List.of(e), 10, 9, Map.of(), 0, null);
    }

    @Test
    void averagesOverSeedsAndPairsRailWithDecodeBySeed() {
        List<String> labels = List.of("tract#0", "ce-cot#0", "tract/decode#0", "tract#1", "ce-cot#1",
                "tract/decode#1", "tract#2", "ce-cot#2", "tract/decode#2");
        List<Values.PipelineResult> results = List.of(result(0.30, 0), result(0.10, 0), result(0.10, 2),
                result(0.50, 0), result(0.20, 0), result(null, 0), result(0.10, 0), result(0.30, 0),
                result(0.20, 1));
        ObjectNode summary = Comparison.summarize(labels, results);

        JsonNode tract = summary.get("methods").get(0);
        assertThat(tract.get("method").asText()).isEqualTo("tract");
        assertThat(tract.get("seeds").asInt()).isEqualTo(3);
        assertThat(tract.at("/pearson/mean").asDouble()).isCloseTo(0.30, within(1e-12));
        assertThat(tract.at("/pearson/min").asDouble()).isCloseTo(0.10, within(1e-12));
        assertThat(tract.at("/pearson/max").asDouble()).isCloseTo(0.50, within(1e-12));
        assertThat(tract.at("/pearson/ci_low").asDouble()).isCloseTo(0.20, within(1e-12));

        JsonNode decode = summary.get("methods").get(2);
        assertThat(decode.get("method").asText()).isEqualTo("tract/decode");
        // seed 1's decode judge gave every example one score: no correlation, left out of the mean and counted
        assertThat(decode.at("/pearson/defined").asInt()).isEqualTo(2);
        assertThat(decode.at("/pearson/mean").asDouble()).isCloseTo(0.15, within(1e-12));
        assertThat(decode.get("dropped").asInt()).isEqualTo(3);

        // paired over seeds 0 and 2 only: (0.30 - 0.10 + 0.10 - 0.20) / 2
        assertThat(summary.get("cot_rail_minus_decode_pearson").asDouble()).isCloseTo(0.05, within(1e-12));
        assertThat(summary.get("cot_rail_minus_decode_seeds").asInt()).isEqualTo(2);
        assertThat(summary.get("cot_rail_above_decode_seeds").asInt()).isEqualTo(1);

        StringWriter text = new StringWriter();
        Comparison.print(new PrintWriter(text, true), summary);
        assertThat(text.toString())
                .contains("0.300 (0.100..0.500) [0.20,0.40]")
                .contains("0.150 (0.100..0.200) [0.05,0.25] *2")
                .contains("defined in only n seeds")
                .contains("+0.050, CoT-RAIL higher in 1 of 2 seeds");
    }
}
