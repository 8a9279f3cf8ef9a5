package dev.tract.cli;

import ai.djl.Device;
import dev.tract.judge.data.PromptTemplate;
import dev.tract.judge.model.Checkpoints;
import dev.tract.judge.model.LlamaModel;
import dev.tract.judge.tokenizer.JudgeTokenizer;
import dev.tract.judge.tokenizer.ScoreTokens;
import dev.tract.judge.train.ExampleEncoder;
import java.nio.file.Path;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** --model, --template, --max-length and the device options of the commands that train or score. */
final class ModelOptions {
    @Option(names = "--model", required = true, description = "model directory (HF layout)")
    Path model;

    @Option(names = "--template", defaultValue = "compact",
            description = "prompt template: prometheus or compact (default: ${DEFAULT-VALUE})")
    String template;

    @Option(names = "--max-length", defaultValue = "2048",
            description = "maximum tokens per example (default: ${DEFAULT-VALUE})")
    int maxLength;

    @Mixin
    DeviceOptions device;

    /** A loaded model and tokenizer, closed together. */
    record Loaded(LlamaModel model, JudgeTokenizer tokenizer, ExampleEncoder encoder) implements AutoCloseable {
        @Override
        public void close() {
            tokenizer.close();
            model.close();
        }
    }

    Loaded load() {
        Device d = device.device();
        LlamaModel m = Checkpoints.load(model, d, device.dtype(d));
        try {
            JudgeTokenizer tok = JudgeTokenizer.load(model);
            ExampleEncoder enc = new ExampleEncoder(tok, ScoreTokens.detect(tok), PromptTemplate.named(template),
                    maxLength);
            return new Loaded(m, tok, enc);
        } catch (RuntimeException e) {
            m.close();
            throw e;
        }
    }
}
