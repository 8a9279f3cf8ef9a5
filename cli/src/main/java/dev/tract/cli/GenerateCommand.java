package dev.tract.cli;

import ai.djl.Device;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tract.judge.generate.Generation;
import dev.tract.judge.generate.GenerationConfig;
import dev.tract.judge.generate.Generator;
import dev.tract.judge.model.Checkpoints;
import dev.tract.judge.model.LlamaModel;
import dev.tract.judge.tokenizer.ChatTemplate;
import dev.tract.judge.tokenizer.JudgeTokenizer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "generate", mixinStandardHelpOptions = true,
        description = "Generate a continuation of a prompt (sampling unless --greedy).")
final class GenerateCommand implements Callable<Integer> {
    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Option(names = "--model", required = true, description = "model directory (HF layout)")
    Path model;

    @Option(names = "--prompt", required = true, description = "prompt text")
    String prompt;

    @Option(names = "--chat", description = "wrap the prompt as a user message with the model's chat template")
    boolean chat;

    @Option(names = "--max-new-tokens", defaultValue = "64", description = "default: ${DEFAULT-VALUE}")
    int maxNewTokens;

    @Option(names = "--greedy", description = "pick the most likely token at each step")
    boolean greedy;

    @Option(names = "--temperature", defaultValue = "1.0", description = "default: ${DEFAULT-VALUE}")
    double temperature;

    @Option(names = "--top-p", defaultValue = "1.0", description = "default: ${DEFAULT-VALUE}")
    double topP;

    @Option(names = "--top-k", defaultValue = "0", description = "0 disables (default: ${DEFAULT-VALUE})")
    int topK;

    @Option(names = "--repetition-penalty", defaultValue = "1.0", description = "default: ${DEFAULT-VALUE}")
    double repetitionPenalty;

    @Option(names = "--stop", description = "stop string (repeatable)")
    List<String> stops = new ArrayList<>();

    @Option(names = "--no-cache", description = "recompute every position at each step (slow; for comparison)")
    boolean noCache;

    @Option(names = "--seed", defaultValue = "0", description = "default: ${DEFAULT-VALUE}")
    long seed;

    @Option(names = "--json", description = "print {text, new_tokens, seconds, tokens_per_s}")
    boolean json;

    @Mixin
    DeviceOptions deviceOptions;

    @Override
    public Integer call() {
        GenerationConfig config = new GenerationConfig(maxNewTokens, !greedy, temperature, topK, topP,
                repetitionPenalty, stops, seed, !noCache);
        Device device = deviceOptions.device();
        try (LlamaModel m = Checkpoints.load(model, device, deviceOptions.dtype(device));
             JudgeTokenizer tok = JudgeTokenizer.load(model)) {
            String text = prompt;
            if (chat) {
                ChatTemplate template = tok.chatTemplate();
                if (template == null) {
                    throw new dev.tract.judge.JudgeInputException(model.resolve(JudgeTokenizer.CONFIG_FILE)
                            .toString(), "chat_template", "--chat needs a chat template and there is none");
                }
                text = template.render(List.of(new ChatTemplate.Message("user", prompt)), true);
            }
            Generator generator = new Generator(m, tok);
            long start = System.nanoTime();
            Generation g = generator.generate(List.of(text), config).get(0);
            double seconds = (System.nanoTime() - start) / 1e9;
            double rate = g.newTokens() / seconds;
            if (json) {
                ObjectNode o = Json.object();
                o.put("text", g.text());
                o.put("new_tokens", g.newTokens());
                o.put("seconds", seconds);
                o.put("tokens_per_s", rate);
                o.put("finish_reason", g.finishReason());
                o.put("cache", !noCache);
                Json.print(spec.commandLine().getOut(), o);
            } else {
                spec.commandLine().getOut().println(g.text());
                spec.commandLine().getErr().printf("%d new tokens in %.2f s (%.1f tokens/s, %s)%n", g.newTokens(),
                        seconds, rate, g.finishReason());
            }
        }
        return 0;
    }
}
