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
 * @param wellFormed per feedback: it ended cleanly (end of sequence, a stop string, or it reached "So the overall")
 *     rather than running into the token limit
 * @param correct per feedback, for an example of a built-in task: every item check and the count are right; null
 *     for any other example
 * @param promptCut the prompt had to be shortened to leave room for the feedback
 */
public record ScoredExample(String id, double gold, Double prediction, List<Double> predictions,
                            List<String> feedbacks, double[] probabilities, List<Boolean> wellFormed,
                            List<Boolean> correct, boolean promptCut) {
    public boolean dropped() {
        return prediction == null;
    }

    /**
     * One line of predictions.jsonl: id, gold, prediction, predictions, feedbacks, probabilities, dropped,
     * well_formed, correct (only for examples of a built-in task) and prompt_cut.
     */
    public ObjectNode toJson() {
        ObjectNode o = JsonNodeFactory.instance.objectNode();
        o.put("id", id);
        if (Double.isNaN(gold)) {
            o.putNull("gold"); // judged data without a gold score
        } else {
            o.put("gold", gold);
        }
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
        ArrayNode w = o.putArray("well_formed");
        wellFormed.forEach(w::add);
        if (correct != null) {
            ArrayNode c = o.putArray("correct");
            correct.forEach(c::add);
        }
        o.put("prompt_cut", promptCut);
        return o;
    }
}
