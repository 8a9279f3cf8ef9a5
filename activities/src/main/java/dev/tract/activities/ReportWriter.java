package dev.tract.activities;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tract.workflows.Values;
import java.awt.BasicStroke;
import java.awt.Color;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.commons.math3.stat.regression.SimpleRegression;
import org.jfree.chart.ChartFactory;
import org.jfree.chart.ChartUtils;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.plot.PlotOrientation;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.xy.XYLineAndShapeRenderer;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;

/**
 * The figures of a pipeline report, as PNG plots (jfreechart) and as the same data in JSON: per evaluation set a
 * scatter plot of gold against predicted with the least-squares line, and per training stage its loss curves.
 */
final class ReportWriter {
    static {
        System.setProperty("java.awt.headless", "true");
    }

    private static final ObjectMapper JSON = new ObjectMapper();

    private ReportWriter() {}

    /** Gold and predicted scores of one evaluation set, read from its predictions.jsonl. */
    record Scatter(List<double[]> points, double slope, double intercept) {
        static Scatter of(String predictionsJsonl) throws IOException {
            List<double[]> points = new ArrayList<>();
            SimpleRegression fit = new SimpleRegression();
            for (String line : predictionsJsonl.split("\n")) {
                if (line.isBlank()) {
                    continue;
                }
                JsonNode n = JSON.readTree(line);
                if (!n.path("prediction").isNull()) {
                    double g = n.get("gold").asDouble();
                    double p = n.get("prediction").asDouble();
                    points.add(new double[] {g, p});
                    fit.addData(g, p);
                }
            }
            return new Scatter(points, fit.getN() > 1 ? fit.getSlope() : Double.NaN,
                    fit.getN() > 1 ? fit.getIntercept() : Double.NaN);
        }

        ObjectNode toJson() {
            ObjectNode o = JSON.createObjectNode();
            ArrayNode gold = o.putArray("gold");
            ArrayNode pred = o.putArray("prediction");
            for (double[] p : points) {
                gold.add(p[0]);
                pred.add(p[1]);
            }
            ObjectNode line = o.putObject("fit");
            if (!Double.isNaN(slope)) {
                line.put("slope", slope).put("intercept", intercept);
            }
            return o;
        }
    }

    static void scatterPng(Scatter s, String title, Path out) throws IOException {
        XYSeries points = new XYSeries("examples");
        for (double[] p : s.points()) {
            points.add(p[0], p[1]);
        }
        XYSeriesCollection data = new XYSeriesCollection(points);
        if (!Double.isNaN(s.slope())) {
            XYSeries line = new XYSeries("least squares");
            line.add(1, s.intercept() + s.slope());
            line.add(5, s.intercept() + 5 * s.slope());
            data.addSeries(line);
        }
        JFreeChart chart = ChartFactory.createScatterPlot(title, "gold score", "predicted score", data,
                PlotOrientation.VERTICAL, true, false, false);
        XYPlot plot = chart.getXYPlot();
        XYLineAndShapeRenderer r = new XYLineAndShapeRenderer();
        r.setSeriesLinesVisible(0, false);
        r.setSeriesShapesVisible(0, true);
        r.setSeriesPaint(0, new Color(31, 119, 180, 140));
        r.setSeriesLinesVisible(1, true);
        r.setSeriesShapesVisible(1, false);
        r.setSeriesPaint(1, new Color(214, 39, 40));
        r.setSeriesStroke(1, new BasicStroke(2f));
        plot.setRenderer(r);
        plot.setBackgroundPaint(Color.WHITE);
        plot.getDomainAxis().setRange(0.5, 5.5);
        plot.getRangeAxis().setRange(0, 5.5);
        Files.createDirectories(out.toAbsolutePath().getParent());
        ChartUtils.saveChartAsPNG(out.toFile(), chart, 640, 480);
    }

    /** Loss curves of a stage from its metrics.jsonl: loss, ce_loss and raft_loss by step. */
    static Map<String, List<double[]>> curves(String metricsJsonl) throws IOException {
        Map<String, List<double[]>> curves = new LinkedHashMap<>();
        for (String key : new String[] {"loss", "ce_loss", "raft_loss"}) {
            curves.put(key, new ArrayList<>());
        }
        for (String line : metricsJsonl.split("\n")) {
            if (line.isBlank()) {
                continue;
            }
            JsonNode n = JSON.readTree(line);
            for (Map.Entry<String, List<double[]>> c : curves.entrySet()) {
                JsonNode v = n.get(c.getKey());
                if (v != null && v.isNumber() && !Double.isNaN(v.asDouble())) {
                    c.getValue().add(new double[] {n.get("step").asDouble(), v.asDouble()});
                }
            }
        }
        curves.values().removeIf(List::isEmpty);
        return curves;
    }

    static void lossPng(Map<String, List<double[]>> curves, String title, Path out) throws IOException {
        XYSeriesCollection data = new XYSeriesCollection();
        for (Map.Entry<String, List<double[]>> c : curves.entrySet()) {
            XYSeries s = new XYSeries(c.getKey());
            c.getValue().forEach(p -> s.add(p[0], p[1]));
            data.addSeries(s);
        }
        JFreeChart chart = ChartFactory.createXYLineChart(title, "step", "loss", data, PlotOrientation.VERTICAL,
                true, false, false);
        chart.getXYPlot().setBackgroundPaint(Color.WHITE);
        Files.createDirectories(out.toAbsolutePath().getParent());
        ChartUtils.saveChartAsPNG(out.toFile(), chart, 640, 360);
    }

    static ObjectNode curvesJson(Map<String, List<double[]>> curves) {
        ObjectNode o = JSON.createObjectNode();
        curves.forEach((k, points) -> {
            ArrayNode steps = o.putObject(k).putArray("step");
            ArrayNode values = ((ObjectNode) o.get(k)).putArray("value");
            points.forEach(p -> {
                steps.add((long) p[0]);
                values.add(p[1]);
            });
        });
        return o;
    }

    /** The report page: metrics with intervals, plots, stages, resumes and lost work, tracking links. */
    static String html(Values.PipelineResult r, List<String> scatterFiles, Map<String, String> lossFiles) {
        StringBuilder sb = new StringBuilder("<!doctype html><html><head><meta charset=\"utf-8\"><title>")
                .append(esc(r.pipelineId())).append("</title><style>body{font-family:sans-serif;margin:2em;"
                        + "max-width:1100px}table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;"
                        + "padding:4px 8px;text-align:right}th{background:#eee}td:first-child{text-align:left}"
                        + "img{max-width:100%}</style></head><body>");
        sb.append("<h1>").append(esc(r.pipelineId())).append("</h1><p>State: <b>").append(esc(r.state()))
                .append("</b>").append(String.format(" &middot; wall %.1f s &middot; compute %.1f s &middot; "
                        + "orchestration %.1f s</p>", r.wallSeconds(), r.computeSeconds(),
                        Math.max(0, r.wallSeconds() - r.computeSeconds())));
        sb.append("<h2>Evaluation</h2><table><tr><th>set</th><th>n</th><th>dropped</th><th>Pearson</th>"
                + "<th>Spearman</th><th>Kendall &tau;-b</th><th>RMSE</th></tr>");
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
                List<Double> ci = e.ci().get(k);
                sb.append("<td>").append(v == null ? "-" : String.format("%.3f", v));
                if (ci != null && ci.get(0) != null) {
                    sb.append(String.format(" <small>[%.3f, %.3f]</small>", ci.get(0), ci.get(1)));
                }
                sb.append("</td>");
            }
            sb.append("</tr>");
        }
        sb.append("</table>");
        for (String f : scatterFiles) {
            sb.append("<img src=\"").append(esc(f)).append("\" alt=\"gold vs predicted\">");
        }
        sb.append("<h2>Stages</h2><table><tr><th>stage</th><th>what</th><th>wall s</th><th>compute s</th>"
                + "<th>cached</th><th>attempts</th><th>resumes</th><th>lost steps</th><th>lost compute s</th>"
                + "<th>resume wait s</th><th>final loss</th></tr>");
        for (Values.StageSummary s : r.stages()) {
            sb.append(String.format("<tr><td>%s</td><td>%s</td><td>%.1f</td><td>%.1f</td><td>%s</td><td>%d</td>"
                    + "<td>%d</td><td>%d</td><td>%.1f</td><td>%.1f</td><td>%s</td></tr>", esc(s.name()), esc(s.kind()),
                    s.wallSeconds(), s.computeSeconds(), s.cached() ? "yes" : "", s.attempts(), s.resumes(),
                    s.lostSteps(), s.lostSeconds(), s.resumeWaitSeconds(),
                    s.finalLoss() == null ? "" : String.format("%.4f", s.finalLoss())));
        }
        sb.append("</table>");
        lossFiles.forEach((stage, f) -> sb.append("<h3>Loss, ").append(esc(stage)).append("</h3><img src=\"")
                .append(esc(f)).append("\" alt=\"loss curves\">"));
        sb.append("<h2>Tracking</h2><ul>");
        r.trackingUrls().forEach((k, v) -> sb.append("<li>").append(esc(k)).append(": <a href=\"").append(esc(v))
                .append("\">").append(esc(v)).append("</a></li>"));
        sb.append("</ul>");
        if (r.trackingFailures() > 0) {
            sb.append("<p><b>").append(r.trackingFailures()).append(" tracking call(s) could not be logged</b> "
                    + "(the tracking server was unreachable); the figures above are complete.</p>");
        }
        if (r.registeredVersion() != null) {
            sb.append("<p>Registered model version ").append(esc(r.registeredVersion())).append("</p>");
        }
        return sb.append("</body></html>\n").toString();
    }

    static String esc(String s) {
        return s == null ? "" : s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
                .replace("\"", "&quot;");
    }
}
