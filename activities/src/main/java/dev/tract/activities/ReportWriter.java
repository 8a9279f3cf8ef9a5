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
import org.jfree.chart.axis.LogAxis;
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

    /**
     * A judge's own feedback beside the annotated one, for the examples it scored best and worst.
     *
     * @param error prediction minus gold
     */
    record Sample(String id, double gold, double prediction, double error, String generated, String annotated) {
        ObjectNode toJson() {
            ObjectNode o = JSON.createObjectNode();
            o.put("id", id).put("gold", gold).put("prediction", prediction).put("error", error)
                    .put("generated", generated).put("annotated", annotated);
            return o;
        }
    }

    /**
     * The {@code k} predictions with the smallest and the {@code k} with the largest absolute error that have a
     * generated feedback, each beside its annotated feedback ({@code annotated} maps ids to it).
     */
    static List<Sample> samples(String predictionsJsonl, Map<String, String> annotated, int k) throws IOException {
        List<Sample> all = new ArrayList<>();
        for (String line : predictionsJsonl.split("\n")) {
            if (line.isBlank()) {
                continue;
            }
            JsonNode n = JSON.readTree(line);
            if (n.path("prediction").isNull() || n.path("feedbacks").isEmpty()) {
                continue;
            }
            String id = n.get("id").asText();
            double gold = n.get("gold").asDouble();
            double pred = n.get("prediction").asDouble();
            all.add(new Sample(id, gold, pred, pred - gold, n.get("feedbacks").get(0).asText(),
                    annotated.getOrDefault(id, "")));
        }
        all.sort(java.util.Comparator.comparingDouble((Sample x) -> Math.abs(x.error())).thenComparing(Sample::id));
        List<Sample> out = new ArrayList<>(all.subList(0, Math.min(k, all.size())));
        for (int i = Math.max(out.size(), all.size() - k); i < all.size(); i++) {
            out.add(all.get(i));
        }
        return out;
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

    /**
     * An exponential moving average of a curve, debiased as TensorBoard's smoothing is (so the first points are not
     * pulled towards zero), with a window of about a twentieth of the curve.
     */
    static List<double[]> smoothed(List<double[]> points) {
        double alpha = Math.min(1, 2.0 / (Math.max(1, points.size() / 20.0) + 1));
        List<double[]> out = new ArrayList<>(points.size());
        double avg = 0;
        double weight = 0;
        for (double[] p : points) {
            avg = (1 - alpha) * avg + alpha * p[1];
            weight = (1 - alpha) * weight + alpha;
            out.add(new double[] {p[0], avg / weight});
        }
        return out;
    }

    private static final Color[] PALETTE = {new Color(31, 119, 180), new Color(255, 127, 14),
        new Color(44, 160, 44), new Color(214, 39, 40)};

    /**
     * Each curve raw (faint) and smoothed (solid), in the same colour, on a logarithmic loss axis: losses fall by
     * orders of magnitude, and on a linear axis everything after the first drop is a flat line. Points at or below
     * zero cannot be drawn there and are left out.
     */
    static void lossPng(Map<String, List<double[]>> curves, String title, Path out) throws IOException {
        XYSeriesCollection data = new XYSeriesCollection();
        XYLineAndShapeRenderer r = new XYLineAndShapeRenderer(true, false);
        int i = 0;
        for (Map.Entry<String, List<double[]>> c : curves.entrySet()) {
            Color color = PALETTE[i % PALETTE.length];
            XYSeries raw = new XYSeries(c.getKey());
            c.getValue().stream().filter(p -> p[1] > 0).forEach(p -> raw.add(p[0], p[1]));
            XYSeries smooth = new XYSeries(c.getKey() + " (smoothed)");
            smoothed(c.getValue()).stream().filter(p -> p[1] > 0).forEach(p -> smooth.add(p[0], p[1]));
            r.setSeriesPaint(data.getSeriesCount(), new Color(color.getRed(), color.getGreen(), color.getBlue(), 70));
            r.setSeriesStroke(data.getSeriesCount(), new BasicStroke(1f));
            r.setSeriesVisibleInLegend(data.getSeriesCount(), false);
            data.addSeries(raw);
            r.setSeriesPaint(data.getSeriesCount(), color);
            r.setSeriesStroke(data.getSeriesCount(), new BasicStroke(2f));
            data.addSeries(smooth);
            i++;
        }
        JFreeChart chart = ChartFactory.createXYLineChart(title, "step", "loss", data, PlotOrientation.VERTICAL,
                true, false, false);
        XYPlot plot = chart.getXYPlot();
        plot.setRenderer(r);
        plot.setBackgroundPaint(Color.WHITE);
        LogAxis loss = new LogAxis("loss (log scale)");
        loss.setSmallestValue(1e-6);
        loss.setNumberFormatOverride(new java.text.DecimalFormat("0.####"));
        plot.setRangeAxis(loss);
        Files.createDirectories(out.toAbsolutePath().getParent());
        ChartUtils.saveChartAsPNG(out.toFile(), chart, 640, 360);
    }

    static ObjectNode curvesJson(Map<String, List<double[]>> curves) {
        ObjectNode o = JSON.createObjectNode();
        curves.forEach((k, points) -> {
            ObjectNode curve = o.putObject(k);
            ArrayNode steps = curve.putArray("step");
            ArrayNode values = curve.putArray("value");
            ArrayNode smooth = curve.putArray("smoothed");
            points.forEach(p -> {
                steps.add((long) p[0]);
                values.add(p[1]);
            });
            smoothed(points).forEach(p -> smooth.add(p[1]));
        });
        return o;
    }

    /** The report page: metrics with intervals, plots, stages, resumes and lost work, tracking links. */
    static String html(Values.PipelineResult r, List<String> scatterFiles, Map<String, String> lossFiles,
                       Map<String, List<Sample>> samples) {
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
                + "<th>Spearman</th><th>Kendall &tau;-b</th><th>RMSE</th><th>CoT well-formed</th>"
                + "<th>CoT correct</th><th>prompts cut</th></tr>");
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
            sb.append(qualityCells(e.quality())).append("</tr>");
        }
        sb.append("</table>");
        for (String f : scatterFiles) {
            sb.append("<img src=\"").append(esc(f)).append("\" alt=\"gold vs predicted\">");
        }
        samples.forEach((set, list) -> {
            if (list.isEmpty()) {
                return;
            }
            sb.append("<h3>What the judge wrote, ").append(esc(set)).append(" (smallest and largest errors)</h3>"
                    + "<table><tr><th>example</th><th>gold</th><th>predicted</th><th>judge's feedback</th>"
                    + "<th>annotated feedback</th></tr>");
            for (Sample x : list) {
                sb.append(String.format("<tr><td>%s</td><td>%.2f</td><td>%.2f</td><td style=\"text-align:left\">%s"
                        + "</td><td style=\"text-align:left\">%s</td></tr>", esc(x.id()), x.gold(), x.prediction(),
                        esc(x.generated()), esc(x.annotated())));
            }
            sb.append("</table>");
        });
        sb.append("<h2>Stages</h2><table><tr><th>stage</th><th>what</th><th>wall s</th><th>compute s</th>"
                + "<th>cached</th><th>attempts</th><th>resumes</th><th>lost steps</th><th>lost compute s</th>"
                + "<th>resume wait s</th><th>final loss</th><th>CoT well-formed</th><th>CoT correct</th>"
                + "<th>prompts cut</th></tr>");
        for (Values.StageSummary s : r.stages()) {
            sb.append(String.format("<tr><td>%s</td><td>%s</td><td>%.1f</td><td>%.1f</td><td>%s</td><td>%d</td>"
                    + "<td>%d</td><td>%d</td><td>%.1f</td><td>%.1f</td><td>%s</td>%s</tr>", esc(s.name()),
                    esc(s.kind()), s.wallSeconds(), s.computeSeconds(), s.cached() ? "yes" : "", s.attempts(),
                    s.resumes(), s.lostSteps(), s.lostSeconds(), s.resumeWaitSeconds(),
                    s.finalLoss() == null ? "" : String.format("%.4f", s.finalLoss()), qualityCells(s.quality())));
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

    /** Three cells: the shares of well-formed and of correct feedbacks, and the prompts cut; blank when none. */
    private static String qualityCells(Values.CotQuality q) {
        if (q == null) {
            return "<td></td><td></td><td></td>";
        }
        return "<td>" + share(q.wellFormedShare()) + "</td><td>" + share(q.correctShare()) + "</td><td>"
                + q.promptsCut() + "</td>";
    }

    static String share(Double v) {
        return v == null ? "" : String.format("%.1f%%", 100 * v);
    }

    static String esc(String s) {
        return s == null ? "" : s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
                .replace("\"", "&quot;");
    }
}
