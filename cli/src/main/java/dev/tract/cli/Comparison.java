package dev.tract.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tract.judge.metrics.PairedBootstrap;
import dev.tract.workflows.Values;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The method comparison. Per method: the mean over seeds of Pearson, Spearman and Kendall, their range over seeds,
 * the mean bootstrap 95% interval and the share of correct feedbacks. Then the paper's claims, each a paired
 * difference in Pearson on the same test examples, pooled over seeds, with a paired-bootstrap 95% interval; a claim
 * is "shown" only where that interval lies above zero. A correlation is undefined when a judge gives every example
 * the same score; such seeds are counted ({@code defined} below {@code seeds}) and left out.
 */
final class Comparison {
    static final int RESAMPLES = 2000;

    /** A claim of the method: group A correlates better with gold than group B. */
    record Claim(String id, String text, List<String> a, List<String> b) {}

    static final List<Claim> CLAIMS = List.of(
            new Claim("a", "CoT-RAIL beats decoding (TRACT judge)", List.of("tract"), List.of("tract/decode")),
            new Claim("b", "RAFT beats CE without CoT", List.of("raft"), List.of("ce-score")),
            new Claim("c", "CoT methods beat no-CoT methods", List.of("tract", "stage1-only", "ce-cot",
                    "ce-both-stages"), List.of("raft", "ce-score")),
            new Claim("d", "TRACT beats stage 1 only", List.of("tract"), List.of("stage1-only")),
            new Claim("e", "TRACT beats CE with CoT", List.of("tract"), List.of("ce-cot")));

    /**
     * One pipeline of the comparison.
     *
     * @param method the method, or "tract/decode" for the TRACT judge scored by decoding
     * @param predictions per example id, {gold, prediction} (prediction NaN when dropped)
     */
    record Run(String method, long seed, Values.EvalOutcome eval, Map<String, double[]> predictions) {}

    private Comparison() {}

    static ObjectNode summarize(List<Run> runs) {
        Map<String, List<Run>> byMethod = new LinkedHashMap<>();
        runs.forEach(r -> byMethod.computeIfAbsent(r.method(), k -> new ArrayList<>()).add(r));
        ObjectNode out = Json.object();
        ArrayNode rows = out.putArray("methods");
        for (Map.Entry<String, List<Run>> e : byMethod.entrySet()) {
            ObjectNode row = rows.addObject();
            row.put("method", e.getKey());
            row.put("seeds", e.getValue().size());
            for (String metric : new String[] {"pearson", "spearman", "kendall"}) {
                summarizeMetric(row.putObject(metric), e.getValue(), metric);
            }
            row.put("dropped", e.getValue().stream().mapToInt(r -> r.eval().nDropped()).sum());
            Values.CotQuality q = Values.CotQuality.NONE;
            for (Run r : e.getValue()) {
                q = q.plus(r.eval().quality());
            }
            if (q.correctShare() != null) {
                row.put("cot_correct", q.correctShare());
            }
        }
        ArrayNode claims = out.putArray("claims");
        for (Claim c : CLAIMS) {
            ObjectNode o = claims.addObject();
            o.put("claim", c.id()).put("text", c.text());
            o.set("a", Json.MAPPER.valueToTree(c.a()));
            o.set("b", Json.MAPPER.valueToTree(c.b()));
            List<PairedBootstrap.Seed> seeds = seeds(runs, c);
            if (seeds.isEmpty()) {
                o.put("shown", false).put("seeds", 0);
                continue;
            }
            PairedBootstrap.Difference d = PairedBootstrap.pearson(seeds, c.a(), c.b(), RESAMPLES, 7);
            o.put("seeds", d.seeds()).put("n", d.n());
            if (!Double.isNaN(d.difference())) {
                o.put("difference", d.difference());
            }
            if (!Double.isNaN(d.low())) {
                o.put("ci_low", d.low()).put("ci_high", d.high());
            }
            if (d.undefined() > 0) {
                o.put("resamples_undefined", d.undefined());
            }
            o.put("shown", d.shown());
        }
        return out;
    }

    private static void summarizeMetric(ObjectNode m, List<Run> runs, String metric) {
        double sum = 0;
        double lo = 0;
        double hi = 0;
        double min = Double.POSITIVE_INFINITY;
        double max = Double.NEGATIVE_INFINITY;
        int n = 0;
        for (Run r : runs) {
            Double v = value(r.eval(), metric);
            if (v == null) {
                continue;
            }
            n++;
            sum += v;
            min = Math.min(min, v);
            max = Math.max(max, v);
            List<Double> ci = r.eval().ci().get(metric);
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

    /** Per seed where every method of the claim ran: gold and each method's predictions, aligned by example id. */
    private static List<PairedBootstrap.Seed> seeds(List<Run> runs, Claim c) {
        Map<Long, Map<String, Run>> bySeed = new TreeMap<>();
        runs.forEach(r -> bySeed.computeIfAbsent(r.seed(), k -> new LinkedHashMap<>()).put(r.method(), r));
        List<PairedBootstrap.Seed> out = new ArrayList<>();
        List<String> methods = new ArrayList<>(c.a());
        methods.addAll(c.b());
        for (Map<String, Run> seed : bySeed.values()) {
            if (!seed.keySet().containsAll(methods)) {
                continue;
            }
            List<String> ids = new ArrayList<>(seed.get(methods.get(0)).predictions().keySet());
            ids.removeIf(id -> methods.stream().anyMatch(m -> !seed.get(m).predictions().containsKey(id)));
            double[] gold = new double[ids.size()];
            Map<String, double[]> predictions = new LinkedHashMap<>();
            methods.forEach(m -> predictions.put(m, new double[ids.size()]));
            for (int i = 0; i < ids.size(); i++) {
                gold[i] = seed.get(methods.get(0)).predictions().get(ids.get(i))[0];
                for (String m : methods) {
                    predictions.get(m)[i] = seed.get(m).predictions().get(ids.get(i))[1];
                }
            }
            out.add(new PairedBootstrap.Seed(gold, predictions));
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
        out.printf("%-16s %5s  %-34s %-34s %-34s %7s %9s%n", "method", "seeds", "Pearson mean (seed range) [CI]",
                "Spearman", "Kendall", "dropped", "CoT right");
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
            out.printf("%-16s %5d  %-34s %-34s %-34s %7d %9s%n", r.get("method").asText(), seeds, cells[0],
                    cells[1], cells[2], r.get("dropped").asInt(),
                    r.has("cot_correct") ? String.format("%.1f%%", 100 * r.get("cot_correct").asDouble()) : "");
        }
        if (undefined) {
            out.println("*n: defined in only n seeds (a judge that gives every example the same score has no "
                    + "correlation); the mean is over those");
        }
        out.println();
        out.println("Claims: paired difference in Pearson on the same test examples, pooled over seeds, with a "
                + "paired-bootstrap 95% interval");
        for (JsonNode c : summary.path("claims")) {
            String figure = !c.has("difference") ? "not measured (a method is missing or has no correlation)"
                    : String.format("%+.3f", c.get("difference").asDouble()) + (c.has("ci_low")
                            ? String.format(" [%+.3f, %+.3f]", c.get("ci_low").asDouble(), c.get("ci_high").asDouble())
                            : "") + String.format(" over %d seed(s)", c.get("seeds").asInt());
            out.printf("(%s) %-40s %-44s %s%n", c.get("claim").asText(), c.get("text").asText(), figure,
                    c.path("shown").asBoolean() ? "shown" : "not shown");
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
