package dev.tract.cli;

import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "quickstart", mixinStandardHelpOptions = true,
        description = "Run the whole TRACT pipeline on the built-in synthetic task with a small model.")
final class QuickstartCommand implements Callable<Integer> {
    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Option(names = "--compare", description = "also run the baselines and print them side by side")
    boolean compare;

    @Option(names = "--json", description = "print the summary as one JSON object")
    boolean json;

    @Override
    public Integer call() {
        spec.commandLine().getOut().println(String.join("\n",
                "tract quickstart will run the whole TRACT method through Temporal on this machine:",
                "  1. start Temporal's test server, a worker and a local artifact folder (./tract-runs)",
                "  2. generate the synthetic judge task and a small judge model",
                "  3. stage 1: CoT-RAFT fine-tuning on annotated feedback",
                "  4. CoT self-generation by the stage-1 model",
                "  5. stage 2: CoT-RAFT fine-tuning of the seed model on the self-generated CoTs",
                "  6. CoT-RAIL evaluation: Pearson, Spearman, Kendall and RMSE with intervals",
                "The pipeline is not built yet; today the model commands work:",
                "  ./tract model init --preset small --out models/small",
                "  ./tract generate --model models/small --prompt 'The response' --json"));
        return 0;
    }
}
