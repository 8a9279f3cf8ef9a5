package dev.tract.cli;

import dev.tract.workflows.Values;
import java.io.PrintWriter;
import java.util.List;

/** The human-readable tables of pipeline results. */
final class Tables {
    private Tables() {}

    static void stages(PrintWriter out, Values.PipelineResult r) {
        out.printf("%-8s %-22s %9s %9s %7s %8s %10s %8s  %s%n", "stage", "what", "wall s", "compute s", "cached",
                "resumes", "lost steps", "lost s", "CoTs");
        for (Values.StageSummary s : r.stages()) {
            out.printf("%-8s %-22s %9.1f %9.1f %7s %8d %10d %8.1f  %s%n", s.name(), s.kind(), s.wallSeconds(),
                    s.computeSeconds(), s.cached() ? "yes" : "", s.resumes(), s.lostSteps(), s.lostSeconds(),
                    quality(s.quality()));
        }
        out.printf("wall %.1f s, compute %.1f s, orchestration %.1f s (%.1f%%)%n", r.wallSeconds(), r.computeSeconds(),
                Math.max(0, r.wallSeconds() - r.computeSeconds()),
                100 * Math.max(0, r.wallSeconds() - r.computeSeconds()) / Math.max(1e-9, r.wallSeconds()));
    }

    /**
     * One row per (label, eval set): Pearson, Spearman, Kendall, RMSE with 95% intervals, and the judge's own
     * feedbacks: the share well-formed and the share correct (where the truth is known).
     */
    static void metrics(PrintWriter out, List<String> labels, List<Values.PipelineResult> results) {
        out.printf("%-20s %-10s %4s %-22s %-22s %-22s %-22s %8s %8s%n", "method", "eval set", "n", "Pearson",
                "Spearman", "Kendall", "RMSE", "CoT ok", "CoT right");
        for (int i = 0; i < results.size(); i++) {
            for (Values.EvalOutcome e : results.get(i).evals()) {
                Values.CotQuality q = e.quality();
                out.printf("%-20s %-10s %4d %-22s %-22s %-22s %-22s %8s %8s%n", labels.get(i), e.evalSet(), e.n(),
                        cell(e.pearson(), e.ci().get("pearson")), cell(e.spearman(), e.ci().get("spearman")),
                        cell(e.kendall(), e.ci().get("kendall")), cell(e.rmse(), e.ci().get("rmse")),
                        q == null ? "" : share(q.wellFormedShare()), q == null ? "" : share(q.correctShare()));
            }
        }
        out.println("CoT ok: share of the judge's feedbacks that ended cleanly; CoT right: share whose every item "
                + "check and count are right (built-in task only)");
    }

    /** "well-formed 99.5%, correct 91.0%, 2 prompts cut" for a stage that generated feedbacks, else "". */
    static String quality(Values.CotQuality q) {
        if (q == null || q.feedbacks() == 0) {
            return "";
        }
        String s = "well-formed " + share(q.wellFormedShare());
        if (q.correctShare() != null) {
            s += ", correct " + share(q.correctShare());
        }
        return q.promptsCut() > 0 ? s + ", " + q.promptsCut() + " prompts cut" : s;
    }

    private static String share(Double v) {
        return v == null ? "-" : String.format("%.1f%%", 100 * v);
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
