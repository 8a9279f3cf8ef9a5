package dev.tract.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tract.workflows.spec.SpecParser;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

@Command(name = "submit", mixinStandardHelpOptions = true,
        description = "Submit a pipeline spec (YAML or JSON) to the API; relative paths in it are relative to the "
                + "spec's folder. --watch follows it to the end.")
final class SubmitCommand implements Callable<Integer> {
    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Parameters(paramLabel = "SPEC")
    Path file;

    @Option(names = "--watch", description = "follow the pipeline until it ends (a live progress line on a terminal)")
    boolean watch;

    @Option(names = "--json", description = "print {id, spec_digest} (with --watch: the final pipeline)")
    boolean json;

    @Mixin
    ApiOptions api;

    @Override
    public Integer call() throws Exception {
        if (!Files.isRegularFile(file)) {
            throw new dev.tract.judge.JudgeInputException(file.toString(), null, "spec file not found");
        }
        Path dir = file.toAbsolutePath().getParent();
        String text = SpecParser.read(file);
        // validate here first: the errors name the fields without a round trip
        SpecParser.parse(text, dir, dir.resolve("tract-runs").toUri().toString());
        return post(spec, api.client(), SpecParser.withAbsolutePaths(text, dir), watch, json);
    }

    /**
     * Submits a spec (JSON, absolute paths) to the API; prints its id (or, with {@code json}, the API's answer),
     * or with {@code watch} follows it to its end and prints its summary. Returns the exit code.
     */
    static int post(picocli.CommandLine.Model.CommandSpec spec, ApiClient client, String specJson, boolean watch,
                    boolean json) throws Exception {
        JsonNode created = client.post("/api/v1/pipelines", specJson, "application/json");
        String id = created.get("id").asText();
        for (JsonNode w : created.path("warnings")) {
            spec.commandLine().getErr().println("warning: " + w.asText());
        }
        if (!watch) {
            if (json) {
                Json.print(spec.commandLine().getOut(), created);
            } else {
                spec.commandLine().getOut().println(id);
            }
            return 0;
        }
        spec.commandLine().getErr().println("submitted " + id);
        JsonNode last = new HttpWatcher(client, spec.commandLine().getErr()).follow(id);
        if (json) {
            Json.print(spec.commandLine().getOut(), last);
        } else {
            StatusCommand.printSummary(spec.commandLine().getOut(), last);
        }
        return "COMPLETED".equals(last.path("state").asText()) ? 0 : TractCli.EXIT_FAILURE;
    }
}
