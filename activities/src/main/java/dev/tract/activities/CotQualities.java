package dev.tract.activities;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tract.workflows.Values;

/** Counts the quality of generated feedbacks from the lines of a predictions.jsonl. */
final class CotQualities {
    private CotQualities() {}

    /** From one line of predictions.jsonl (ScoredExample.toJson()); lines of older files count nothing. */
    static Values.CotQuality of(JsonNode line) {
        JsonNode correct = line.path("correct");
        return new Values.CotQuality(line.path("well_formed").size(), count(line.path("well_formed")),
                correct.size(), count(correct), line.path("prompt_cut").asBoolean(false) ? 1 : 0);
    }

    private static int count(JsonNode flags) {
        int n = 0;
        for (JsonNode f : flags) {
            n += f.asBoolean() ? 1 : 0;
        }
        return n;
    }
}
