package dev.tract.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

@Command(name = "report", mixinStandardHelpOptions = true,
        description = "A finished pipeline's report: the results table, --json for the whole report, --html FILE to "
                + "save the report page.")
final class ReportCommand implements Callable<Integer> {
    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Parameters(paramLabel = "ID")
    String id;

    @Option(names = "--json", description = "print report.json")
    boolean json;

    @Option(names = "--html", description = "save report.html to this file")
    Path html;

    @Mixin
    ApiOptions api;

    @Override
    public Integer call() throws Exception {
        ApiClient client = api.client();
        JsonNode report = client.get("/api/v1/pipelines/" + ApiClient.encode(id) + "/report");
        if (html != null) {
            Files.writeString(html, client.getText("/api/v1/pipelines/" + ApiClient.encode(id) + "/report.html"),
                    StandardCharsets.UTF_8);
        }
        if (json) {
            Json.print(spec.commandLine().getOut(), report);
            return 0;
        }
        var result = Json.MAPPER.treeToValue(report, dev.tract.workflows.Values.PipelineResult.class);
        Tables.stages(spec.commandLine().getOut(), result);
        spec.commandLine().getOut().println();
        Tables.metrics(spec.commandLine().getOut(), List.of(id), List.of(result));
        return 0;
    }
}
