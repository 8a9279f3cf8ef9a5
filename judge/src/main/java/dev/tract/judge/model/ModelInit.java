package dev.tract.judge.model;

import ai.djl.Device;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tract.judge.JudgeInputException;
import dev.tract.judge.data.JudgeExample;
import dev.tract.judge.data.PromptTemplate;
import dev.tract.judge.data.SyntheticTask;
import dev.tract.judge.data.Targets;
import dev.tract.judge.tokenizer.ByteLevelBpe;
import dev.tract.judge.tokenizer.JudgeTokenizer;
import dev.tract.judge.tokenizer.ScoreTokens;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Writes a randomly initialised model directory (HF layout, tokenizer included) for a preset. */
public final class ModelInit {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String CORPUS = "/dev/tract/judge/tokenizer/corpus.txt";

    private ModelInit() {}

    /**
     * The text the presets' tokenizers are learned from: judge-style English plus prompts and targets of the
     * built-in synthetic tasks in both templates.
     */
    public static String presetCorpus() {
        StringBuilder sb = new StringBuilder();
        try (InputStream in = ModelInit.class.getResourceAsStream(CORPUS)) {
            sb.append(new String(in.readAllBytes(), StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new IllegalStateException("corpus resource missing", e);
        }
        int i = 0;
        List<JudgeExample> examples = new ArrayList<>(SyntheticTask.CHECKLIST.examples(300, 20240601));
        examples.addAll(SyntheticTask.RECALL.examples(100, 20240601));
        for (JudgeExample e : examples) {
            PromptTemplate t = i++ % 4 == 0 ? PromptTemplate.PROMETHEUS : PromptTemplate.COMPACT;
            sb.append('\n').append(t.render(e)).append(Targets.target(e.feedback(), e.goldScore()));
        }
        return sb.toString();
    }

    /**
     * Creates {@code out} with config.json, model.safetensors, tokenizer.json and tokenizer_config.json.
     *
     * @param tokenizerFile a tokenizer.json to use instead of the preset's own byte-level BPE, or null
     * @return the model's config
     */
    public static LlamaConfig init(Preset preset, Path out, long seed, Path tokenizerFile) throws IOException {
        Files.createDirectories(out);
        int vocab;
        int bos;
        int eos;
        int pad;
        if (tokenizerFile == null) {
            ByteLevelBpe bpe = ByteLevelBpe.train(presetCorpus(), preset.tokenizerVocab());
            bpe.write(out, preset.maxPositions());
            vocab = bpe.vocabSize();
            bos = bpe.bosId();
            eos = bpe.eosId();
            pad = bpe.padId();
        } else {
            try (JudgeTokenizer tok = JudgeTokenizer.load(tokenizerFile)) {
                ScoreTokens.detect(tok);
                tok.copyTo(out);
                vocab = vocabSize(tok.file());
                eos = (int) tok.singleTokenId(tok.eosToken());
                if (eos < 0) {
                    throw new JudgeInputException(tok.file().resolveSibling(JudgeTokenizer.CONFIG_FILE).toString(),
                            "eos_token", "the tokenizer needs an end-of-sequence token that is one token");
                }
                bos = (int) tok.singleTokenId(tok.bosToken());
                pad = (int) tok.padId();
            }
        }
        LlamaConfig config = preset.config(vocab, bos < 0 ? eos : bos, eos, pad);
        try (LlamaModel model = Checkpoints.randomInit(config, seed, Device.cpu())) {
            Checkpoints.save(model, out);
        }
        return config;
    }

    /** Vocabulary size of a tokenizer.json: one more than the largest id in its vocab and added tokens. */
    static int vocabSize(Path tokenizerJson) throws IOException {
        JsonNode root = JSON.readTree(tokenizerJson.toFile());
        int max = -1;
        JsonNode vocab = root.path("model").path("vocab");
        if (vocab.isObject()) {
            for (JsonNode id : (Iterable<JsonNode>) vocab::elements) {
                max = Math.max(max, id.asInt());
            }
        } else if (vocab.isArray()) {
            max = vocab.size() - 1;
        }
        for (JsonNode t : root.path("added_tokens")) {
            max = Math.max(max, t.path("id").asInt());
        }
        if (max < 0) {
            throw new JudgeInputException(tokenizerJson.toString(), "model.vocab", "the tokenizer has no vocabulary");
        }
        return max + 1;
    }
}
