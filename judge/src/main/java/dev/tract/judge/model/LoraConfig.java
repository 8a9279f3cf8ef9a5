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
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * LoRA hyperparameters, read from and written to PEFT's {@code adapter_config.json}.
 *
 * @param targetModules projection names ({@code q_proj}, ..., {@code down_proj}) or {@code all-linear}
 * @param useRslora scale by alpha / sqrt(rank) instead of alpha / rank
 */
public record LoraConfig(int rank, double alpha, double dropout, List<String> targetModules, boolean useRslora) {
    public static final String FILE = "adapter_config.json";
    public static final List<String> ALL_LINEAR =
            List.of("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj");
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    public LoraConfig {
        if (rank <= 0) {
            throw new JudgeInputException("lora", "r", "rank must be positive, got " + rank);
        }
        if (alpha <= 0) {
            throw new JudgeInputException("lora", "lora_alpha", "must be positive, got " + alpha);
        }
        if (dropout < 0 || dropout >= 1) {
            throw new JudgeInputException("lora", "lora_dropout", "must be in [0, 1), got " + dropout);
        }
        targetModules = expand(targetModules);
    }

    /** The reference recipe: every linear layer of the blocks. */
    public static LoraConfig allLinear(int rank, double alpha, double dropout) {
        return new LoraConfig(rank, alpha, dropout, ALL_LINEAR, false);
    }

    private static List<String> expand(List<String> modules) {
        if (modules == null || modules.isEmpty() || modules.contains("all-linear")) {
            return ALL_LINEAR;
        }
        Set<String> out = new LinkedHashSet<>();
        for (String m : modules) {
            if (!ALL_LINEAR.contains(m)) {
                throw new JudgeInputException("lora", "target_modules", "'" + m + "' is not one of "
                        + ALL_LINEAR + " or all-linear");
            }
            out.add(m);
        }
        return List.copyOf(out);
    }

    /** The factor applied to B·A. */
    public double scale() {
        return useRslora ? alpha / Math.sqrt(rank) : alpha / rank;
    }

    public boolean targets(String projection) {
        return targetModules.contains(projection);
    }

    public static LoraConfig read(Path file) {
        if (!Files.isRegularFile(file)) {
            throw new JudgeInputException(file.toString(), null, "adapter_config.json not found");
        }
        try {
            JsonNode n = JSON.readTree(file.toFile());
            String type = n.path("peft_type").asText("LORA");
            if (!type.equals("LORA")) {
                throw new JudgeInputException(file.toString(), "peft_type", "'" + type + "' is not LORA");
            }
            if (n.path("fan_in_fan_out").asBoolean(false)) {
                throw new JudgeInputException(file.toString(), "fan_in_fan_out", "true is not supported");
            }
            List<String> modules = new ArrayList<>();
            JsonNode tm = n.path("target_modules");
            if (tm.isArray()) {
                tm.forEach(m -> modules.add(m.asText()));
            } else if (tm.isTextual()) {
                modules.add(tm.asText());
            }
            if (!n.hasNonNull("r")) {
                throw new JudgeInputException(file.toString(), "r", "is missing");
            }
            return new LoraConfig(n.get("r").asInt(), n.path("lora_alpha").asDouble(8), n.path("lora_dropout")
                    .asDouble(0), modules, n.path("use_rslora").asBoolean(false));
        } catch (IOException e) {
            throw new JudgeInputException(file.toString(), null, "not valid JSON: " + e.getMessage(), e);
        }
    }

    public void write(Path file, String baseModel) throws IOException {
        ObjectNode o = JsonNodeFactory.instance.objectNode();
        o.put("peft_type", "LORA");
        o.put("task_type", "CAUSAL_LM");
        o.put("base_model_name_or_path", baseModel);
        o.put("r", rank);
        o.put("lora_alpha", alpha);
        o.put("lora_dropout", dropout);
        ArrayNode tm = o.putArray("target_modules");
        targetModules.forEach(tm::add);
        o.put("bias", "none");
        o.put("fan_in_fan_out", false);
        o.put("inference_mode", true);
        o.put("init_lora_weights", true);
        o.put("use_rslora", useRslora);
        o.put("use_dora", false);
        o.putNull("modules_to_save");
        o.putNull("layers_to_transform");
        JSON.writeValue(file.toFile(), o);
    }
}
