package dev.tract.judge.score;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;

/**
 * A judge's verdict on one example.
 *
 * @param prediction the predicted score, or null when decode mode could not parse any sampled score (dropped)
 * @param predictions one prediction per feedback (null entries for unparseable decodes)
 * @param probabilities p(1)..p(5) at the score position, softmax over the full vocabulary, averaged over feedbacks
 */
public record ScoredExample(String id, double gold, Double prediction, List<Double> predictions,
                            List<String> feedbacks, double[] probabilities) {
    public boolean dropped() {
        return prediction == null;
    }

    /** One line of predictions.jsonl: id, gold, prediction, predictions, feedbacks, probabilities, dropped. */
    public ObjectNode toJson() {
        ObjectNode o = JsonNodeFactory.instance.objectNode();
        o.put("id", id);
        o.put("gold", gold);
        o.put("prediction", prediction);
        ArrayNode preds = o.putArray("predictions");
        predictions.forEach(preds::add);
        ArrayNode f = o.putArray("feedbacks");
        feedbacks.forEach(f::add);
        ArrayNode p = o.putArray("probabilities");
        for (double v : probabilities) {
            p.add(v);
        }
        o.put("dropped", dropped());
        return o;
    }
}
