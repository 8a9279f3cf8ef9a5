package dev.tract.judge.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tract.judge.JudgeInputException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * The model configuration, read from and written to a Hugging Face {@code config.json}. Llama, Mistral and Qwen2
 * share this architecture; the differences (q/k/v biases, sliding window, explicit head_dim) are fields here.
 * Keys this class does not know are kept and written back unchanged.
 *
 * @param ropeScaling null for plain RoPE
 * @param slidingWindow null when attention is not windowed
 */
public record LlamaConfig(
        String modelType,
        List<String> architectures,
        int vocabSize,
        int hiddenSize,
        int intermediateSize,
        int numHiddenLayers,
        int numAttentionHeads,
        int numKeyValueHeads,
        int headDim,
        double rmsNormEps,
        double ropeTheta,
        RopeScaling ropeScaling,
        int maxPositionEmbeddings,
        boolean tieWordEmbeddings,
        String torchDtype,
        boolean attentionBias,
        boolean mlpBias,
        Integer slidingWindow,
        Integer bosTokenId,
        List<Integer> eosTokenIds,
        Integer padTokenId,
        double initializerRange,
        ObjectNode extra) {

    public static final String FILE = "config.json";
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    private static final Set<String> SUPPORTED_TYPES = Set.of("llama", "mistral", "qwen2");

    /** RoPE frequency scaling as in transformers' {@code rope_scaling}: linear or llama3. */
    public record RopeScaling(String type, double factor, double lowFreqFactor, double highFreqFactor,
                              int originalMaxPositionEmbeddings) {}

    public LlamaConfig {
        architectures = List.copyOf(architectures);
        eosTokenIds = List.copyOf(eosTokenIds);
        extra = extra == null ? JsonNodeFactory.instance.objectNode() : extra.deepCopy();
    }

    /** Builds a config for a model made here from scratch. */
    public static LlamaConfig of(int vocabSize, int hiddenSize, int intermediateSize, int layers, int heads,
                                 int kvHeads, int maxPositions, boolean tied, int bos, int eos, int pad) {
        return of(vocabSize, hiddenSize, intermediateSize, layers, heads, kvHeads, maxPositions, tied, bos, eos, pad,
                0.02);
    }

    /** A Llama config; {@code initializerRange} is the standard deviation of the random initial weights. */
    public static LlamaConfig of(int vocabSize, int hiddenSize, int intermediateSize, int layers, int heads,
                                 int kvHeads, int maxPositions, boolean tied, int bos, int eos, int pad,
                                 double initializerRange) {
        return new LlamaConfig("llama", List.of("LlamaForCausalLM"), vocabSize, hiddenSize, intermediateSize,
                layers, heads, kvHeads, hiddenSize / heads, 1e-5, 10000.0, null, maxPositions, tied, "float32",
                false, false, null, bos, List.of(eos), pad, initializerRange, null);
    }

    /** Size of one attention head. */
    public int headSize() {
        return headDim;
    }

    /** Whether the q, k and v projections carry a bias (Qwen2, or Llama with attention_bias). */
    public boolean qkvBias() {
        return attentionBias || "qwen2".equals(modelType);
    }

    /** Number of parameters of the base model. */
    public long parameterCount() {
        long h = hiddenSize;
        long q = (long) numAttentionHeads * headDim;
        long kv = (long) numKeyValueHeads * headDim;
        long attn = h * q + 2 * h * kv + q * h + (qkvBias() ? q + 2 * kv : 0) + (attentionBias ? h : 0);
        long mlp = 3 * h * intermediateSize + (mlpBias ? 2L * intermediateSize + h : 0);
        long layer = attn + mlp + 2 * h;
        long embed = (long) vocabSize * h;
        return embed + numHiddenLayers * layer + h + (tieWordEmbeddings ? 0 : embed);
    }

    public static LlamaConfig read(Path file) {
        if (!Files.isRegularFile(file)) {
            throw new JudgeInputException(file.toString(), null, "config.json not found; a model directory needs "
                    + "config.json, model.safetensors and tokenizer.json");
        }
        JsonNode root;
        try {
            root = JSON.readTree(file.toFile());
        } catch (IOException e) {
            throw new JudgeInputException(file.toString(), null, "not valid JSON: " + e.getMessage(), e);
        }
        if (root == null || !root.isObject()) {
            throw new JudgeInputException(file.toString(), null, "expected a JSON object");
        }
        return fromJson((ObjectNode) root, file.toString());
    }

    public static LlamaConfig fromJson(ObjectNode root, String source) {
        Fields f = new Fields(root, source);
        String modelType = f.string("model_type", "llama");
        if (!SUPPORTED_TYPES.contains(modelType)) {
            throw new JudgeInputException(source, "model_type", "'" + modelType
                    + "' is not supported (supported: llama, mistral, qwen2)");
        }
        List<String> arch = new ArrayList<>();
        if (root.has("architectures") && root.get("architectures").isArray()) {
            root.get("architectures").forEach(n -> arch.add(n.asText()));
        }
        int hidden = f.positiveInt("hidden_size");
        int heads = f.positiveInt("num_attention_heads");
        int kvHeads = root.hasNonNull("num_key_value_heads") ? f.positiveInt("num_key_value_heads") : heads;
        if (heads % kvHeads != 0) {
            throw new JudgeInputException(source, "num_key_value_heads", kvHeads
                    + " does not divide num_attention_heads=" + heads);
        }
        int headDim;
        if (root.hasNonNull("head_dim")) {
            headDim = f.positiveInt("head_dim");
        } else {
            if (hidden % heads != 0) {
                throw new JudgeInputException(source, "num_attention_heads", heads
                        + " does not divide hidden_size=" + hidden + " and no head_dim is given");
            }
            headDim = hidden / heads;
        }
        if (headDim % 2 != 0) {
            throw new JudgeInputException(source, "head_dim", "rotary embeddings need an even head size, got "
                    + headDim);
        }
        List<Integer> eos = new ArrayList<>();
        JsonNode eosNode = root.get("eos_token_id");
        if (eosNode != null && eosNode.isArray()) {
            eosNode.forEach(n -> eos.add(n.asInt()));
        } else if (eosNode != null && eosNode.isNumber()) {
            eos.add(eosNode.asInt());
        }
        Integer window = slidingWindow(root, f, modelType, source);
        ObjectNode extra = root.deepCopy();
        for (String k : KNOWN) {
            if (window != null || !k.equals("sliding_window")) {
                extra.remove(k);
            }
        }
        return new LlamaConfig(modelType, arch, f.positiveInt("vocab_size"), hidden,
                f.positiveInt("intermediate_size"), f.positiveInt("num_hidden_layers"), heads, kvHeads, headDim,
                f.positiveDouble("rms_norm_eps", 1e-6), f.positiveDouble("rope_theta", 10000.0),
                ropeScaling(root, source), f.intOr("max_position_embeddings", 2048),
                f.bool("tie_word_embeddings", false), f.string("torch_dtype", "float32"),
                f.bool("attention_bias", false), f.bool("mlp_bias", false),
                window,
                root.hasNonNull("bos_token_id") ? f.intOr("bos_token_id", 0) : null, eos,
                root.hasNonNull("pad_token_id") ? f.intOr("pad_token_id", 0) : null,
                f.positiveDouble("initializer_range", 0.02), extra);
    }

    /**
     * The attention window as Hugging Face applies it: Mistral windows every layer when {@code sliding_window} is
     * set; Qwen2 only when {@code use_sliding_window} is true (its default is false), and then the layers from
     * {@code max_window_layers} (default 28) on; Llama never. A window on some layers but not others is refused.
     */
    private static Integer slidingWindow(JsonNode root, Fields f, String modelType, String source) {
        if (!root.hasNonNull("sliding_window")) {
            return null;
        }
        switch (modelType) {
            case "mistral" -> {
                return f.positiveInt("sliding_window");
            }
            case "qwen2" -> {
                if (!f.bool("use_sliding_window", false)) {
                    return null;
                }
                int from = f.intOr("max_window_layers", 28);
                int layers = f.positiveInt("num_hidden_layers");
                if (from >= layers) {
                    return null;
                }
                if (from > 0) {
                    throw new JudgeInputException(source, "max_window_layers", "a sliding window on layers " + from
                            + ".." + (layers - 1) + " only (max_window_layers=" + from + " of " + layers
                            + " layers) is not supported");
                }
                return f.positiveInt("sliding_window");
            }
            default -> {
                return null;
            }
        }
    }

    private static final List<String> KNOWN = List.of("model_type", "architectures", "vocab_size", "hidden_size",
            "intermediate_size", "num_hidden_layers", "num_attention_heads", "num_key_value_heads", "head_dim",
            "rms_norm_eps", "rope_theta", "rope_scaling", "max_position_embeddings", "tie_word_embeddings",
            "torch_dtype", "attention_bias", "mlp_bias", "sliding_window", "bos_token_id", "eos_token_id",
            "pad_token_id", "initializer_range", "hidden_act");

    private static RopeScaling ropeScaling(ObjectNode root, String source) {
        JsonNode rs = root.get("rope_scaling");
        if (rs == null || rs.isNull()) {
            return null;
        }
        String type = rs.has("rope_type") ? rs.get("rope_type").asText() : rs.path("type").asText("default");
        switch (type) {
            case "default":
                return null;
            case "linear":
                return new RopeScaling(type, rs.path("factor").asDouble(1.0), 0, 0, 0);
            case "llama3":
                return new RopeScaling(type, rs.path("factor").asDouble(8.0), rs.path("low_freq_factor").asDouble(1.0),
                        rs.path("high_freq_factor").asDouble(4.0),
                        rs.path("original_max_position_embeddings").asInt(8192));
            default:
                throw new JudgeInputException(source, "rope_scaling.rope_type", "'" + type
                        + "' is not supported (supported: default, linear, llama3)");
        }
    }

    /** The config as Hugging Face writes it. */
    public ObjectNode toJson() {
        ObjectNode o = JsonNodeFactory.instance.objectNode();
        ArrayNode arch = o.putArray("architectures");
        architectures.forEach(arch::add);
        o.put("model_type", modelType);
        o.put("vocab_size", vocabSize);
        o.put("hidden_size", hiddenSize);
        o.put("intermediate_size", intermediateSize);
        o.put("num_hidden_layers", numHiddenLayers);
        o.put("num_attention_heads", numAttentionHeads);
        o.put("num_key_value_heads", numKeyValueHeads);
        o.put("head_dim", headDim);
        o.put("hidden_act", "silu");
        o.put("rms_norm_eps", rmsNormEps);
        o.put("rope_theta", ropeTheta);
        if (ropeScaling == null) {
            o.putNull("rope_scaling");
        } else {
            ObjectNode rs = o.putObject("rope_scaling");
            rs.put("rope_type", ropeScaling.type());
            rs.put("factor", ropeScaling.factor());
            if (ropeScaling.type().equals("llama3")) {
                rs.put("low_freq_factor", ropeScaling.lowFreqFactor());
                rs.put("high_freq_factor", ropeScaling.highFreqFactor());
                rs.put("original_max_position_embeddings", ropeScaling.originalMaxPositionEmbeddings());
            }
        }
        o.put("max_position_embeddings", maxPositionEmbeddings);
        o.put("tie_word_embeddings", tieWordEmbeddings);
        o.put("torch_dtype", torchDtype);
        if (!"qwen2".equals(modelType)) {
            o.put("attention_bias", attentionBias);
            o.put("mlp_bias", mlpBias);
        }
        if (slidingWindow != null) {
            o.put("sliding_window", slidingWindow);
        }
        if (bosTokenId != null) {
            o.put("bos_token_id", bosTokenId);
        }
        if (eosTokenIds.size() == 1) {
            o.put("eos_token_id", eosTokenIds.get(0));
        } else if (!eosTokenIds.isEmpty()) {
            ArrayNode e = o.putArray("eos_token_id");
            eosTokenIds.forEach(e::add);
        }
        if (padTokenId != null) {
            o.put("pad_token_id", padTokenId);
        }
        o.put("initializer_range", initializerRange);
        extra.fields().forEachRemaining(e -> {
            if (!o.has(e.getKey())) {
                o.set(e.getKey(), e.getValue());
            }
        });
        return o;
    }

    public void write(Path file) throws IOException {
        JSON.writeValue(file.toFile(), toJson());
    }

    /** A copy with another torch_dtype (written to config.json so that readers know the file's dtype). */
    public LlamaConfig withTorchDtype(String dtype) {
        return new LlamaConfig(modelType, architectures, vocabSize, hiddenSize, intermediateSize, numHiddenLayers,
                numAttentionHeads, numKeyValueHeads, headDim, rmsNormEps, ropeTheta, ropeScaling,
                maxPositionEmbeddings, tieWordEmbeddings, dtype, attentionBias, mlpBias, slidingWindow, bosTokenId,
                eosTokenIds, padTokenId, initializerRange, extra);
    }

    /** Typed field access with errors that name the file and the field. */
    private record Fields(ObjectNode root, String source) {
        int positiveInt(String name) {
            JsonNode n = root.get(name);
            if (n == null || n.isNull()) {
                throw new JudgeInputException(source, name, "is missing");
            }
            if (!n.canConvertToInt() || !n.isIntegralNumber() || n.asInt() <= 0) {
                throw new JudgeInputException(source, name, "must be a positive integer, got " + n);
            }
            return n.asInt();
        }

        int intOr(String name, int fallback) {
            JsonNode n = root.get(name);
            if (n == null || n.isNull()) {
                return fallback;
            }
            if (!n.isIntegralNumber()) {
                throw new JudgeInputException(source, name, "must be an integer, got " + n);
            }
            return n.asInt();
        }

        double positiveDouble(String name, double fallback) {
            JsonNode n = root.get(name);
            if (n == null || n.isNull()) {
                return fallback;
            }
            if (!n.isNumber() || n.asDouble() <= 0) {
                throw new JudgeInputException(source, name, "must be a positive number, got " + n);
            }
            return n.asDouble();
        }

        boolean bool(String name, boolean fallback) {
            JsonNode n = root.get(name);
            if (n == null || n.isNull()) {
                return fallback;
            }
            if (!n.isBoolean()) {
                throw new JudgeInputException(source, name, "must be true or false, got " + n);
            }
            return n.asBoolean();
        }

        String string(String name, String fallback) {
            JsonNode n = root.get(name);
            return n == null || n.isNull() ? fallback : n.asText();
        }
    }
}
