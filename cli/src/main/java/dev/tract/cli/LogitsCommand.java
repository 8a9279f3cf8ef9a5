package dev.tract.cli;

import ai.djl.Device;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tract.judge.model.Checkpoints;
import dev.tract.judge.model.LlamaModel;
import dev.tract.judge.model.SequenceLogits;
import dev.tract.judge.tokenizer.JudgeTokenizer;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.concurrent.Callable;
import java.util.stream.IntStream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "logits", mixinStandardHelpOptions = true,
        description = "Logits at the last position of a text (tokenised with the model's special tokens).")
final class LogitsCommand implements Callable<Integer> {
    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Option(names = "--model", required = true, description = "model directory (HF layout)")
    Path model;

    @Option(names = "--text", required = true, description = "input text")
    String text;

    @Option(names = "--no-special-tokens", description = "do not add BOS (or whatever the tokenizer adds)")
    boolean noSpecial;

    @Option(names = "--json", description = "print {token_ids, logits}")
    boolean json;

    @Mixin
    DeviceOptions deviceOptions;

    @Override
    public Integer call() {
        Device device = deviceOptions.device();
        try (LlamaModel m = Checkpoints.load(model, device, deviceOptions.dtype(device));
             JudgeTokenizer tok = JudgeTokenizer.load(model)) {
            long[] ids = tok.encode(text, !noSpecial);
            if (ids.length == 0) {
                throw new dev.tract.judge.JudgeInputException("--text", "text", "encodes to no tokens");
            }
            float[][] all = SequenceLogits.of(m, ids);
            float[] last = all[all.length - 1];
            if (json) {
                ObjectNode o = Json.object();
                ArrayNode idArray = o.putArray("token_ids");
                for (long id : ids) {
                    idArray.add(id);
                }
                ArrayNode l = o.putArray("logits");
                for (float v : last) {
                    l.add(v);
                }
                Json.print(spec.commandLine().getOut(), o);
            } else {
                var out = spec.commandLine().getOut();
                out.printf("%d tokens; top next tokens:%n", ids.length);
                IntStream.range(0, last.length).boxed()
                        .sorted(Comparator.comparingDouble(i -> -last[i])).limit(10)
                        .forEach(i -> out.printf("  %6d %-16s %10.4f%n", i,
                                "'" + tok.decode(new long[] {i}, false) + "'", last[i]));
            }
        }
        return 0;
    }
}
