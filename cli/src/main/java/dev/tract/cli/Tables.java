package dev.tract.cli;

import dev.tract.workflows.Values;
import java.io.PrintWriter;
import java.util.List;

/** The human-readable tables of pipeline results. */
final class Tables {
    private Tables() {}

    static void stages(PrintWriter out, Values.PipelineResult r) {
        out.printf("%-8s %-22s %9s %9s %7s %8s %10s %8s%n", "stage", "what", "wall s", "compute s", "cached",
                "resumes", "lost steps", "lost s");
        for (Values.StageSummary s : r.stages()) {
            out.printf("%-8s %-22s %9.1f %9.1f %7s %8d %10d %8.1f%n", s.name(), s.kind(), s.wallSeconds(),
                    s.computeSeconds(), s.cached() ? "yes" : "", s.resumes(), s.lostSteps(), s.lostSeconds());
        }
        out.printf("wall %.1f s, compute %.1f s, orchestration %.1f s (%.1f%%)%n", r.wallSeconds(), r.computeSeconds(),
                Math.max(0, r.wallSeconds() - r.computeSeconds()),
                100 * Math.max(0, r.wallSeconds() - r.computeSeconds()) / Math.max(1e-9, r.wallSeconds()));
    }

    /** One row per (label, eval set): Pearson, Spearman, Kendall, RMSE with 95% intervals. */
    static void metrics(PrintWriter out, List<String> labels, List<Values.PipelineResult> results) {
        out.printf("%-16s %-12s %5s %-22s %-22s %-22s %-22s%n", "method", "eval set", "n", "Pearson", "Spearman",
                "Kendall", "RMSE");
        for (int i = 0; i < results.size(); i++) {
            for (Values.EvalOutcome e : results.get(i).evals()) {
                out.printf("%-16s %-12s %5d %-22s %-22s %-22s %-22s%n", labels.get(i), e.evalSet(), e.n(),
                        cell(e.pearson(), e.ci().get("pearson")), cell(e.spearman(), e.ci().get("spearman")),
                        cell(e.kendall(), e.ci().get("kendall")), cell(e.rmse(), e.ci().get("rmse")));
            }
        }
    }

    private static String cell(Double v, List<Double> ci) {
        if (v == null) {
            return "-";
        }
        if (ci == null || ci.get(0) == null) {
            return String.format("%.3f", v);
        }
        return String.format("%.3f [%.3f,%.3f]", v, ci.get(0), ci.get(1));
    }
}
