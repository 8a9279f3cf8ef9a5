package dev.tract.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "list", mixinStandardHelpOptions = true, description = "List pipelines, newest first.")
final class ListCommand implements Callable<Integer> {
    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Option(names = "--state", description = "RUNNING, COMPLETED, FAILED, CANCELLED, TERMINATED or TIMED_OUT")
    String state;

    @Option(names = "--page-size", defaultValue = "20", description = "default: ${DEFAULT-VALUE}")
    int pageSize;

    @Option(names = "--page-token", description = "from the previous page")
    String pageToken;

    @Option(names = "--json", description = "print the API's answer as one JSON object")
    boolean json;

    @Mixin
    ApiOptions api;

    @Override
    public Integer call() {
        StringBuilder q = new StringBuilder("/api/v1/pipelines?page_size=").append(pageSize);
        if (state != null) {
            q.append("&state=").append(ApiClient.encode(state));
        }
        if (pageToken != null) {
            q.append("&page_token=").append(ApiClient.encode(pageToken));
        }
        JsonNode page = api.client().get(q.toString());
        if (json) {
            Json.print(spec.commandLine().getOut(), page);
            return 0;
        }
        for (JsonNode p : page.path("pipelines")) {
            spec.commandLine().getOut().printf("%-40s %-10s %s%n", p.path("id").asText(), p.path("state").asText(),
                    p.path("start_time").asText());
        }
        if (page.hasNonNull("next_page_token")) {
            spec.commandLine().getOut().println("more: --page-token " + page.get("next_page_token").asText());
        }
        return 0;
    }
}
