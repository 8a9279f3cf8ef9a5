package dev.tract.activities;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tract.judge.score.ScoredExample;
import dev.tract.workflows.Values;

/** Counts the quality of generated feedbacks from scored examples or their predictions.jsonl lines. */
final class CotQualities {
    private CotQualities() {}

    static Values.CotQuality of(ScoredExample s) {
        return new Values.CotQuality(s.feedbacks().size(), count(s.wellFormed()),
                s.correct() == null ? 0 : s.correct().size(), s.correct() == null ? 0 : count(s.correct()),
                s.promptCut() ? 1 : 0);
    }

    /** From one line of predictions.jsonl ({@link ScoredExample#toJson()}); lines of older files count nothing. */
    static Values.CotQuality of(JsonNode line) {
        JsonNode correct = line.path("correct");
        return new Values.CotQuality(line.path("well_formed").size(), count(line.path("well_formed")),
                correct.size(), count(correct), line.path("prompt_cut").asBoolean(false) ? 1 : 0);
    }

    private static int count(Iterable<?> flags) {
        int n = 0;
        for (Object f : flags) {
            n += (f instanceof Boolean b && b) || (f instanceof JsonNode j && j.asBoolean()) ? 1 : 0;
        }
        return n;
    }
}
