package dev.tract.cli;

import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

@Command(name = "cancel", mixinStandardHelpOptions = true,
        description = "Cancel a pipeline: running training checkpoints, then the pipeline ends as cancelled with "
                + "everything produced so far kept.")
final class CancelCommand implements Callable<Integer> {
    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Parameters(paramLabel = "ID")
    String id;

    @Mixin
    ApiOptions api;

    @Override
    public Integer call() {
        api.client().post("/api/v1/pipelines/" + ApiClient.encode(id) + "/cancel", "", "text/plain");
        spec.commandLine().getOut().println("cancellation requested for " + id);
        return 0;
    }
}
