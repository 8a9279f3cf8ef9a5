package dev.tract.judge.score;

import dev.tract.judge.JudgeInputException;

/**
 * How a judge turns an example into a number.
 *
 * <ul>
 *   <li>{@code cot-rail}: sample n_cot feedbacks, cut each at "So the overall", append " So the overall score
 *       is", take the expected score Σ k·p(k) at the next position, average over the feedbacks.</li>
 *   <li>{@code rail}: no feedback; the expected score right after the prompt and "So the overall score is".</li>
 *   <li>{@code decode}: like cot-rail (or rail with n_cot = 0) but sample one token at the score position and
 *       parse it; a token that is not a score is dropped and counted.</li>
 * </ul>
 */
public enum ScoreMode {
    COT_RAIL("cot-rail"),
    RAIL("rail"),
    DECODE("decode");

    private final String id;

    ScoreMode(String id) {
        this.id = id;
    }

    public String id() {
        return id;
    }

    public static ScoreMode named(String name) {
        for (ScoreMode m : values()) {
            if (m.id.equals(name)) {
                return m;
            }
        }
        throw new JudgeInputException("--mode", "mode", "'" + name + "' is not one of cot-rail, rail, decode");
    }
}
