package dev.tract.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tract.judge.model.LlamaConfig;
import dev.tract.judge.model.ModelInit;
import dev.tract.judge.model.Preset;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "model", description = "Model directories in the Hugging Face layout.",
        subcommands = {ModelCommand.Init.class})
final class ModelCommand {

    @Command(name = "init", mixinStandardHelpOptions = true,
            description = "Write a randomly initialised model directory (config.json, model.safetensors, "
                    + "tokenizer.json) for a preset.")
    static final class Init implements Callable<Integer> {
        @Spec
        picocli.CommandLine.Model.CommandSpec spec;

        @Option(names = "--preset", required = true, description = "tiny (tests) or small (about 10M parameters)")
        String preset;

        @Option(names = "--out", required = true, description = "directory to create")
        Path out;

        @Option(names = "--seed", defaultValue = "0", description = "initialisation seed (default: ${DEFAULT-VALUE})")
        long seed;

        @Option(names = "--tokenizer", description = "a tokenizer.json to use instead of the preset's own")
        Path tokenizer;

        @Option(names = "--json", description = "print the result as one JSON object")
        boolean json;

        @Override
        public Integer call() throws Exception {
            Preset p = Preset.named(preset);
            LlamaConfig c = ModelInit.init(p, out, seed, tokenizer);
            if (json) {
                ObjectNode o = Json.object();
                o.put("out", out.toAbsolutePath().toString());
                o.put("preset", p.id());
                o.put("parameters", c.parameterCount());
                o.put("vocab_size", c.vocabSize());
                o.put("hidden_size", c.hiddenSize());
                o.put("num_hidden_layers", c.numHiddenLayers());
                Json.print(spec.commandLine().getOut(), o);
            } else {
                spec.commandLine().getOut().printf("wrote %s model (%,d parameters, vocabulary %d) to %s%n",
                        p.id(), c.parameterCount(), c.vocabSize(), out);
            }
            return 0;
        }
    }
}
