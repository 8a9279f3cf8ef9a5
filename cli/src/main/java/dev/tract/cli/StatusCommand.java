package dev.tract.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

@Command(name = "status", mixinStandardHelpOptions = true,
        description = "State, progress and results of a pipeline.")
final class StatusCommand implements Callable<Integer> {
    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Parameters(paramLabel = "ID")
    String id;

    @Option(names = "--json", description = "print the API's answer as one JSON object")
    boolean json;

    @Mixin
    ApiOptions api;

    @Override
    public Integer call() {
        JsonNode p = api.client().get("/api/v1/pipelines/" + ApiClient.encode(id));
        if (json) {
            Json.print(spec.commandLine().getOut(), p);
        } else {
            printSummary(spec.commandLine().getOut(), p);
        }
        return 0;
    }

    static void printSummary(PrintWriter out, JsonNode p) {
        out.printf("%s %s (started %s)%n", p.path("id").asText(), p.path("state").asText(),
                p.path("start_time").asText());
        JsonNode progress = p.path("progress");
        if (!progress.isMissingNode() && !progress.isNull()) {
            out.printf("stage %s", progress.path("stage").asText());
            if (progress.path("totalSteps").asInt() > 0) {
                out.printf(", step %d/%d", progress.path("step").asInt(), progress.path("totalSteps").asInt());
            }
            if (progress.path("shardsTotal").asInt() > 0) {
                out.printf(", shards %d/%d", progress.path("shardsDone").asInt(), progress.path("shardsTotal").asInt());
            }
            out.printf(", elapsed %.0f s, resumes %d%n", progress.path("elapsedSeconds").asDouble(),
                    progress.path("resumes").asInt());
        }
        if (p.hasNonNull("waiting")) {
            out.println(p.get("waiting").asText());
        }
        if (p.has("history_events")) {
            out.printf("history: %d events, %d bytes%n", p.get("history_events").asLong(),
                    p.path("history_bytes").asLong());
        }
        if (p.has("failure")) {
            out.println("failure: " + p.get("failure").asText());
        }
        for (JsonNode e : p.path("result").path("evals")) {
            out.printf("%-12s n %d  pearson %s  spearman %s  kendall %s  rmse %s%n", e.path("evalSet").asText(),
                    e.path("n").asInt(), num(e.get("pearson")), num(e.get("spearman")), num(e.get("kendall")),
                    num(e.get("rmse")));
        }
        if (p.has("report_uri")) {
            out.println("report: " + p.get("report_uri").asText().replace("report.json", "report.html"));
        }
    }

    private static String num(JsonNode n) {
        return n == null || n.isNull() ? "-" : String.format("%.3f", n.asDouble());
    }
}
