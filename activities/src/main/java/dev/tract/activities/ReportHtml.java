package dev.tract.activities;

import dev.tract.workflows.Values;

/** A plain HTML page of a pipeline's result: stages and metrics per evaluation set. */
final class ReportHtml {
    private ReportHtml() {}

    static String render(Values.PipelineResult r) {
        StringBuilder sb = new StringBuilder("<!doctype html><html><head><meta charset=\"utf-8\"><title>")
                .append(esc(r.pipelineId())).append("</title><style>body{font-family:sans-serif;margin:2em}"
                        + "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}"
                        + "th{background:#eee}</style></head><body>");
        sb.append("<h1>").append(esc(r.pipelineId())).append("</h1><p>State: ").append(esc(r.state()))
                .append(String.format(" &middot; wall %.1f s &middot; compute %.1f s</p>", r.wallSeconds(),
                        r.computeSeconds()));
        sb.append("<h2>Evaluation</h2><table><tr><th>set</th><th>n</th><th>dropped</th><th>Pearson</th>"
                + "<th>Spearman</th><th>Kendall</th><th>RMSE</th></tr>");
        for (Values.EvalOutcome e : r.evals()) {
            sb.append("<tr><td>").append(esc(e.evalSet())).append("</td><td>").append(e.n()).append("</td><td>")
                    .append(e.nDropped()).append("</td>");
            for (String k : new String[] {"pearson", "spearman", "kendall", "rmse"}) {
                Double v = switch (k) {
                    case "pearson" -> e.pearson();
                    case "spearman" -> e.spearman();
                    case "kendall" -> e.kendall();
                    default -> e.rmse();
                };
                var ci = e.ci().get(k);
                sb.append("<td>").append(v == null ? "-" : String.format("%.3f", v));
                if (ci != null && ci.get(0) != null) {
                    sb.append(String.format(" [%.3f, %.3f]", ci.get(0), ci.get(1)));
                }
                sb.append("</td>");
            }
            sb.append("</tr>");
        }
        sb.append("</table><h2>Stages</h2><table><tr><th>stage</th><th>kind</th><th>wall s</th><th>compute s</th>"
                + "<th>cached</th><th>attempts</th><th>resumes</th><th>lost steps</th></tr>");
        for (Values.StageSummary s : r.stages()) {
            sb.append(String.format("<tr><td>%s</td><td>%s</td><td>%.1f</td><td>%.1f</td><td>%s</td><td>%d</td>"
                    + "<td>%d</td><td>%d</td></tr>", esc(s.name()), esc(s.kind()), s.wallSeconds(), s.computeSeconds(),
                    s.cached() ? "yes" : "", s.attempts(), s.resumes(), s.lostSteps()));
        }
        return sb.append("</table></body></html>\n").toString();
    }

    static String esc(String s) {
        return s == null ? "" : s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
                .replace("\"", "&quot;");
    }
}
