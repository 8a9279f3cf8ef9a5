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
 * and the mean bootstrap 95% interval; plus TRACT's CoT-RAIL minus decode difference, paired by seed. A correlation
 * is undefined when a judge gives every example the same score; such seeds are counted ({@code defined} below
 * {@code seeds}) and left out of that metric's mean.
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
                m.put("defined", n);
                if (n > 0) {
                    m.put("mean", sum / n).put("min", min).put("max", max).put("ci_low", lo / n).put("ci_high", hi / n);
                }
            }
            row.put("dropped", e.getValue().stream().mapToInt(Values.EvalOutcome::nDropped).sum());
        }
        // paired by seed: the same TRACT judge scored both ways
        Map<String, Double> rail = new LinkedHashMap<>();
        Map<String, Double> decode = new LinkedHashMap<>();
        for (int i = 0; i < labels.size(); i++) {
            String method = labels.get(i).replaceAll("#.*", "");
            String seed = labels.get(i).contains("#") ? labels.get(i).replaceAll(".*#", "") : "";
            Double v = results.get(i).evals().get(0).pearson();
            if (v != null && method.equals("tract")) {
                rail.put(seed, v);
            } else if (v != null && method.equals("tract/decode")) {
                decode.put(seed, v);
            }
        }
        List<Double> diffs = new ArrayList<>();
        rail.forEach((seed, v) -> {
            if (decode.containsKey(seed)) {
                diffs.add(v - decode.get(seed));
            }
        });
        if (!diffs.isEmpty()) {
            out.put("cot_rail_minus_decode_pearson", diffs.stream().mapToDouble(d -> d).average().orElseThrow());
            out.put("cot_rail_minus_decode_seeds", diffs.size());
            out.put("cot_rail_above_decode_seeds", (int) diffs.stream().filter(d -> d > 0).count());
        }
        return out;
    }

    private static Double value(Values.EvalOutcome o, String metric) {
        return switch (metric) {
            case "pearson" -> o.pearson();
            case "spearman" -> o.spearman();
            default -> o.kendall();
        };
    }

    static void print(PrintWriter out, JsonNode summary) {
        out.printf("%-16s %5s  %-40s %-40s %-40s %7s%n", "method", "seeds", "Pearson mean (seed range) [CI]",
                "Spearman", "Kendall", "dropped");
        boolean undefined = false;
        for (JsonNode r : summary.path("methods")) {
            int seeds = r.get("seeds").asInt();
            String[] cells = new String[3];
            int k = 0;
            for (String metric : new String[] {"pearson", "spearman", "kendall"}) {
                JsonNode m = r.get(metric);
                boolean partial = m.path("defined").asInt() < seeds;
                undefined |= partial;
                cells[k++] = cell(m) + (partial ? " *" + m.path("defined").asInt() : "");
            }
            out.printf("%-16s %5d  %-40s %-40s %-40s %7d%n", r.get("method").asText(), seeds, cells[0], cells[1],
                    cells[2], r.get("dropped").asInt());
        }
        if (undefined) {
            out.println("*n: defined in only n seeds (a judge that gives every example the same score has no "
                    + "correlation); the mean is over those");
        }
        if (summary.has("cot_rail_minus_decode_pearson")) {
            out.printf("CoT-RAIL minus decode (TRACT judge, Pearson, paired by seed): %+.3f, CoT-RAIL higher in %d "
                    + "of %d seeds%n", summary.get("cot_rail_minus_decode_pearson").asDouble(),
                    summary.get("cot_rail_above_decode_seeds").asInt(),
                    summary.get("cot_rail_minus_decode_seeds").asInt());
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
