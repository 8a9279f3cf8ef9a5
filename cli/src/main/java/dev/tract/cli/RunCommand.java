package dev.tract.cli;

import dev.tract.judge.JudgeInputException;
import dev.tract.workflows.Values;
import dev.tract.workflows.spec.PipelineSpec;
import dev.tract.workflows.spec.SpecParser;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

@Command(name = "run", mixinStandardHelpOptions = true,
        description = "Run a pipeline spec on this machine, with no cluster: Temporal's test server and a worker in "
                + "this process, artifacts under the spec's artifact_root (default: --runs). Relative paths in the "
                + "spec are relative to its folder. Ctrl-C checkpoints the running stage; the same command again "
                + "continues from the finished stages and the newest checkpoint.")
final class RunCommand implements Callable<Integer> {
    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Parameters(paramLabel = "SPEC", description = "pipeline spec, YAML or JSON")
    Path file;

    @Option(names = "--watch", description = "show the live progress (stage, step, loss) while it runs")
    boolean watch;

    @Option(names = "--json", description = "print the pipeline's result as one JSON object")
    boolean json;

    @Option(names = "--runs", defaultValue = "tract-runs", description = "artifact root for a spec that names none, "
            + "and the worker's local files (default: ${DEFAULT-VALUE})")
    Path runs;

    @Override
    public Integer call() throws Exception {
        if (!Files.isRegularFile(file)) {
            throw new JudgeInputException(file.toString(), null, "spec file not found");
        }
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        Path dir = file.toAbsolutePath().normalize().getParent();
        Path root = runs.toAbsolutePath().normalize();
        PipelineSpec pipeline = SpecParser.parse(SpecParser.read(file), dir, root.toUri().toString());
        Values.PipelineResult result;
        try (EmbeddedRunner runner = new EmbeddedRunner(root.resolve("work"), err)) {
            err.printf("tract run: %s on Temporal's test server (%s), artifacts in %s%n", pipeline.name(),
                    runner.address(), pipeline.artifactRoot());
            err.flush();
            result = runner.run(pipeline, watch);
        }
        if (json) {
            Json.print(out, Json.MAPPER.valueToTree(result));
            return 0;
        }
        out.printf("%n== %s: %s ==%n", pipeline.name(), result.pipelineId());
        Tables.stages(out, result);
        if (!result.evals().isEmpty()) {
            out.println();
            Tables.metrics(out, List.of(pipeline.method().toString()), List.of(result));
        }
        out.printf("%nreport: %s%n", result.reportUri().replace("report.json", "report.html"));
        out.flush();
        return 0;
    }
}
