package dev.tract.activities.tracking;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import dev.tract.workflows.spec.PipelineSpec;
import java.util.Iterator;
import java.util.Map;
import java.util.TreeMap;

/** The pipeline spec flattened into MLflow params: {@code stage1.lr = 0.003}, {@code eval_sets.0.name = ...}. */
public final class SpecParams {
    private static final ObjectMapper SNAKE = new ObjectMapper()
            .setPropertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE);

    private SpecParams() {}

    public static Map<String, String> of(PipelineSpec spec) {
        Map<String, String> out = new TreeMap<>();
        flatten("", SNAKE.valueToTree(spec), out);
        return out;
    }

    private static void flatten(String prefix, JsonNode n, Map<String, String> out) {
        if (n.isObject()) {
            Iterator<Map.Entry<String, JsonNode>> it = n.fields();
            while (it.hasNext()) {
                Map.Entry<String, JsonNode> e = it.next();
                flatten(prefix.isEmpty() ? e.getKey() : prefix + "." + e.getKey(), e.getValue(), out);
            }
        } else if (n.isArray()) {
            for (int i = 0; i < n.size(); i++) {
                flatten(prefix + "." + i, n.get(i), out);
            }
        } else if (!n.isNull()) {
            out.put(prefix, n.asText());
        }
    }
}
