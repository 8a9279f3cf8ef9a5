package dev.tract.judge.tokenizer;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tract.judge.JudgeInputException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * Any Hugging Face {@code tokenizer.json}, through DJL's binding of the tokenizers library, with the special
 * tokens and chat template of {@code tokenizer_config.json} when present.
 */
public final class JudgeTokenizer implements AutoCloseable {
    public static final String FILE = "tokenizer.json";
    public static final String CONFIG_FILE = "tokenizer_config.json";
    private static final ObjectMapper JSON = new ObjectMapper();

    private final HuggingFaceTokenizer hf;
    private final Path file;
    private final String bosToken;
    private final String eosToken;
    private final String padToken;
    private final ChatTemplate chatTemplate;

    private JudgeTokenizer(HuggingFaceTokenizer hf, Path file, JsonNode config) {
        this.hf = hf;
        this.file = file;
        this.bosToken = tokenString(config.get("bos_token"));
        this.eosToken = tokenString(config.get("eos_token"));
        this.padToken = tokenString(config.get("pad_token"));
        String template = templateString(config.get("chat_template"));
        this.chatTemplate = template == null ? null : new ChatTemplate(template, bosToken, eosToken);
    }

    /** Loads {@code tokenizer.json} (and {@code tokenizer_config.json} if present) from a model directory. */
    public static JudgeTokenizer load(Path dir) {
        Path file = Files.isDirectory(dir) ? dir.resolve(FILE) : dir;
        if (!Files.isRegularFile(file)) {
            throw new JudgeInputException(file.toString(), null, "tokenizer.json not found");
        }
        JsonNode config = JSON.createObjectNode();
        Path configFile = file.resolveSibling(CONFIG_FILE);
        if (Files.isRegularFile(configFile)) {
            try {
                config = JSON.readTree(configFile.toFile());
            } catch (IOException e) {
                throw new JudgeInputException(configFile.toString(), null, "not valid JSON: " + e.getMessage(), e);
            }
        }
        HuggingFaceTokenizer hf;
        try (InputStream in = Files.newInputStream(file)) {
            hf = HuggingFaceTokenizer.newInstance(in, Map.of("addSpecialTokens", "true", "truncation", "false",
                    "padding", "false", "modelMaxLength", String.valueOf(Integer.MAX_VALUE)));
        } catch (IOException | RuntimeException e) {
            throw new JudgeInputException(file.toString(), null, "not a valid tokenizer.json: " + e.getMessage(), e);
        }
        return new JudgeTokenizer(hf, file, config);
    }

    private static String tokenString(JsonNode n) {
        if (n == null || n.isNull()) {
            return null;
        }
        return n.isObject() ? n.path("content").asText(null) : n.asText();
    }

    private static String templateString(JsonNode n) {
        if (n == null || n.isNull()) {
            return null;
        }
        if (n.isArray()) {
            for (JsonNode t : n) {
                if ("default".equals(t.path("name").asText())) {
                    return t.path("template").asText();
                }
            }
            return n.size() > 0 ? n.get(0).path("template").asText() : null;
        }
        return n.asText();
    }

    /** Token ids of a text; {@code addSpecial} adds what the tokenizer's post-processor adds (e.g. BOS). */
    public long[] encode(String text, boolean addSpecial) {
        return hf.encode(text, addSpecial, false).getIds();
    }

    /** Token ids and the character span of each token. */
    public Encoding encoding(String text, boolean addSpecial) {
        return hf.encode(text, addSpecial, false);
    }

    public String decode(long[] ids, boolean skipSpecial) {
        return hf.decode(ids, skipSpecial);
    }

    /** The tokens (as strings) of a text, without special tokens; for messages and tests. */
    public List<String> tokens(String text) {
        return Arrays.asList(hf.encode(text, false, false).getTokens());
    }

    /** The id of a string that encodes to exactly one token, or -1. */
    public long singleTokenId(String token) {
        if (token == null) {
            return -1;
        }
        long[] ids = encode(token, false);
        return ids.length == 1 ? ids[0] : -1;
    }

    public String bosToken() {
        return bosToken;
    }

    public String eosToken() {
        return eosToken;
    }

    /** The padding token's id: pad_token, else eos_token, else 0. */
    public long padId() {
        long pad = singleTokenId(padToken);
        if (pad >= 0) {
            return pad;
        }
        long eos = singleTokenId(eosToken);
        return eos >= 0 ? eos : 0;
    }

    /** The chat template of tokenizer_config.json, or null when there is none. */
    public ChatTemplate chatTemplate() {
        return chatTemplate;
    }

    public Path file() {
        return file;
    }

    /** Copies tokenizer.json (and tokenizer_config.json when present) into a model directory. */
    public void copyTo(Path dir) throws IOException {
        Files.createDirectories(dir);
        if (!Files.isSameFile(file.getParent(), dir)) {
            Files.copy(file, dir.resolve(FILE), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            Path cfg = file.resolveSibling(CONFIG_FILE);
            if (Files.isRegularFile(cfg)) {
                Files.copy(cfg, dir.resolve(CONFIG_FILE), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            }
        }
    }

    @Override
    public void close() {
        hf.close();
    }
}
