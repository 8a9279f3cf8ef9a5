package dev.tract.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tract.judge.JudgeInputException;
import dev.tract.judge.metrics.Correlations;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

@Command(name = "correlate", mixinStandardHelpOptions = true,
        description = "Pearson, Spearman, Kendall tau-b and RMSE (with bootstrap 95%% intervals) of a JSONL with "
                + "gold and prediction; a null or missing prediction is dropped and counted.")
final class CorrelateCommand implements Callable<Integer> {
    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Parameters(paramLabel = "FILE")
    Path file;

    @Option(names = "--resamples", defaultValue = "1000", description = "bootstrap resamples (default: ${DEFAULT-VALUE})")
    int resamples;

    @Option(names = "--seed", defaultValue = "0", description = "bootstrap seed (default: ${DEFAULT-VALUE})")
    long seed;

    @Option(names = "--json", description = "print {n, n_dropped, pearson, spearman, kendall, rmse, ci}")
    boolean json;

    @Override
    public Integer call() throws Exception {
        if (!Files.isRegularFile(file)) {
            throw new JudgeInputException(file.toString(), null, "file not found");
        }
        List<Double> gold = new ArrayList<>();
        List<Double> pred = new ArrayList<>();
        List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i).strip();
            if (line.isEmpty()) {
                continue;
            }
            String where = file + ":" + (i + 1);
            JsonNode n;
            try {
                n = Json.MAPPER.readTree(line);
            } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
                throw new JudgeInputException(where, "(json)", "not valid JSON: " + e.getOriginalMessage());
            }
            JsonNode g = n.get("gold");
            if (g == null || !g.isNumber()) {
                throw new JudgeInputException(where, "gold", g == null ? "is missing" : "must be a number");
            }
            JsonNode p = n.get("prediction");
            if (p != null && !p.isNull() && !p.isNumber()) {
                throw new JudgeInputException(where, "prediction", "must be a number or null");
            }
            gold.add(g.asDouble());
            pred.add(p == null || p.isNull() ? null : p.asDouble());
        }
        if (gold.isEmpty()) {
            throw new JudgeInputException(file.toString(), null, "no records");
        }
        Correlations.Report r = Correlations.compute(gold, pred, resamples, seed);
        if (json) {
            Json.print(spec.commandLine().getOut(), toJson(r));
        } else {
            spec.commandLine().getOut().printf("n %d (dropped %d)%n", r.n(), r.nDropped());
            for (String k : List.of("pearson", "spearman", "kendall", "rmse")) {
                double v = switch (k) {
                    case "pearson" -> r.pearson();
                    case "spearman" -> r.spearman();
                    case "kendall" -> r.kendall();
                    default -> r.rmse();
                };
                Correlations.Interval ci = r.ci().get(k);
                spec.commandLine().getOut().printf("%-9s %.4f%s%n", k, v, ci == null ? ""
                        : String.format("  [%.4f, %.4f]", ci.low(), ci.high()));
            }
        }
        return 0;
    }

    static ObjectNode toJson(Correlations.Report r) {
        ObjectNode o = Json.object();
        o.put("n", r.n());
        o.put("n_dropped", r.nDropped());
        number(o, "pearson", r.pearson());
        number(o, "spearman", r.spearman());
        number(o, "kendall", r.kendall());
        number(o, "rmse", r.rmse());
        ObjectNode ci = o.putObject("ci");
        for (Map.Entry<String, Correlations.Interval> e : r.ci().entrySet()) {
            var a = ci.putArray(e.getKey());
            for (double v : new double[] {e.getValue().low(), e.getValue().high()}) {
                if (Double.isNaN(v)) {
                    a.addNull();
                } else {
                    a.add(v);
                }
            }
        }
        return o;
    }

    private static void number(ObjectNode o, String k, double v) {
        if (Double.isNaN(v)) {
            o.putNull(k);
        } else {
            o.put(k, v);
        }
    }
}
