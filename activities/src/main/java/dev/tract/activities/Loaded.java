package dev.tract.activities;

import ai.djl.Device;
import dev.tract.judge.data.PromptTemplate;
import dev.tract.judge.model.Checkpoints;
import dev.tract.judge.model.LlamaModel;
import dev.tract.judge.runtime.Devices;
import dev.tract.judge.tokenizer.JudgeTokenizer;
import dev.tract.judge.tokenizer.ScoreTokens;
import dev.tract.judge.train.ExampleEncoder;
import java.nio.file.Path;

/** A model, its tokenizer and an encoder, loaded for one activity and closed together. */
record Loaded(LlamaModel model, JudgeTokenizer tokenizer, ExampleEncoder encoder) implements AutoCloseable {
    static Loaded of(Path dir, String device, String template, int maxLength) {
        Device d = Devices.resolve(device);
        LlamaModel m = Checkpoints.load(dir, d, Devices.dtype("float32", d));
        try {
            JudgeTokenizer tok = JudgeTokenizer.load(dir);
            return new Loaded(m, tok, new ExampleEncoder(tok, ScoreTokens.detect(tok), PromptTemplate.named(template),
                    maxLength));
        } catch (RuntimeException e) {
            m.close();
            throw e;
        }
    }

    @Override
    public void close() {
        tokenizer.close();
        model.close();
    }
}
