package dev.tract.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tract.workflows.Values;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The method comparison: per method, the mean over seeds of Pearson, Spearman and Kendall, their range over seeds,
 * and the mean bootstrap 95% interval; plus TRACT's CoT-RAIL minus decode difference.
 */
final class Comparison {
    private Comparison() {}

    static ObjectNode summarize(List<String> labels, List<Values.PipelineResult> results) {
        Map<String, List<Values.EvalOutcome>> byMethod = new LinkedHashMap<>();
        for (int i = 0; i < labels.size(); i++) {
            String method = labels.get(i).replaceAll("#.*", "");
            byMethod.computeIfAbsent(method, k -> new ArrayList<>()).add(results.get(i).evals().get(0));
        }
        ObjectNode out = Json.object();
        ArrayNode rows = out.putArray("methods");
        for (Map.Entry<String, List<Values.EvalOutcome>> e : byMethod.entrySet()) {
            ObjectNode row = rows.addObject();
            row.put("method", e.getKey());
            row.put("seeds", e.getValue().size());
            for (String metric : new String[] {"pearson", "spearman", "kendall"}) {
                ObjectNode m = row.putObject(metric);
                double sum = 0;
                double lo = 0;
                double hi = 0;
                double min = Double.POSITIVE_INFINITY;
                double max = Double.NEGATIVE_INFINITY;
                int n = 0;
                for (Values.EvalOutcome o : e.getValue()) {
                    Double v = value(o, metric);
                    if (v == null) {
                        continue;
                    }
                    n++;
                    sum += v;
                    min = Math.min(min, v);
                    max = Math.max(max, v);
                    List<Double> ci = o.ci().get(metric);
                    if (ci != null && ci.get(0) != null) {
                        lo += ci.get(0);
                        hi += ci.get(1);
                    }
                }
                if (n > 0) {
                    m.put("mean", sum / n).put("min", min).put("max", max).put("ci_low", lo / n).put("ci_high", hi / n);
                }
            }
            row.put("dropped", e.getValue().stream().mapToInt(Values.EvalOutcome::nDropped).sum());
        }
        JsonNode rail = find(rows, "tract");
        JsonNode decode = find(rows, "tract/decode");
        if (rail != null && decode != null && rail.at("/pearson/mean").isNumber()
                && decode.at("/pearson/mean").isNumber()) {
            out.put("cot_rail_minus_decode_pearson", rail.at("/pearson/mean").asDouble()
                    - decode.at("/pearson/mean").asDouble());
        }
        return out;
    }

    private static JsonNode find(ArrayNode rows, String method) {
        for (JsonNode r : rows) {
            if (r.get("method").asText().equals(method)) {
                return r;
            }
        }
        return null;
    }

    private static Double value(Values.EvalOutcome o, String metric) {
        return switch (metric) {
            case "pearson" -> o.pearson();
            case "spearman" -> o.spearman();
            default -> o.kendall();
        };
    }

    static void print(PrintWriter out, JsonNode summary) {
        out.printf("%-16s %5s  %-32s %-32s %-32s %7s%n", "method", "seeds", "Pearson mean (seed range) [CI]",
                "Spearman", "Kendall", "dropped");
        for (JsonNode r : summary.path("methods")) {
            out.printf("%-16s %5d  %-32s %-32s %-32s %7d%n", r.get("method").asText(), r.get("seeds").asInt(),
                    cell(r.get("pearson")), cell(r.get("spearman")), cell(r.get("kendall")), r.get("dropped").asInt());
        }
        if (summary.has("cot_rail_minus_decode_pearson")) {
            out.printf("CoT-RAIL minus decode (TRACT judge, Pearson): %+.3f%n",
                    summary.get("cot_rail_minus_decode_pearson").asDouble());
        }
    }

    private static String cell(JsonNode m) {
        if (m == null || !m.has("mean")) {
            return "-";
        }
        return String.format("%.3f (%.3f..%.3f) [%.2f,%.2f]", m.get("mean").asDouble(), m.get("min").asDouble(),
                m.get("max").asDouble(), m.get("ci_low").asDouble(), m.get("ci_high").asDouble());
    }
}
