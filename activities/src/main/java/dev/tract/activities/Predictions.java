package dev.tract.activities;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tract.judge.score.ScoredExample;

/** One line of predictions.jsonl, as `tract score` writes it. */
final class Predictions {
    private static final ObjectMapper JSON = new ObjectMapper();

    private Predictions() {}

    static ObjectNode toJson(ScoredExample s) {
        ObjectNode o = JSON.createObjectNode();
        o.put("id", s.id());
        o.put("gold", s.gold());
        if (s.prediction() == null) {
            o.putNull("prediction");
        } else {
            o.put("prediction", s.prediction());
        }
        ArrayNode preds = o.putArray("predictions");
        s.predictions().forEach(p -> {
            if (p == null) {
                preds.addNull();
            } else {
                preds.add(p);
            }
        });
        ArrayNode f = o.putArray("feedbacks");
        s.feedbacks().forEach(f::add);
        ArrayNode p = o.putArray("probabilities");
        for (double v : s.probabilities()) {
            p.add(v);
        }
        o.put("dropped", s.dropped());
        return o;
    }
}
