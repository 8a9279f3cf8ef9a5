package dev.tract.judge.score;

import dev.tract.judge.JudgeInputException;
import dev.tract.judge.generate.GenerationConfig;

/**
 * Scoring settings.
 *
 * @param nCot feedbacks sampled per example (cot-rail, decode); 0 means no feedback (decode only)
 * @param sampling how feedbacks (and decode's score token) are sampled; TRACT's defaults are temperature 1.0,
 *     top-p 0.9, repetition penalty 1.03, at most 1024 new tokens, stop at "[RESULT]"
 * @param renormalize divide the five score probabilities by their sum instead of using the full-vocabulary softmax
 * @param batchSize prompts per forward pass
 */
public record ScoreConfig(ScoreMode mode, int nCot, GenerationConfig sampling, boolean renormalize, int batchSize,
                          long seed) {
    public ScoreConfig {
        if (nCot < 0 || nCot > 64) {
            throw new JudgeInputException("scoring", "n_cot", "must be in [0, 64], got " + nCot);
        }
        if (mode == ScoreMode.COT_RAIL && nCot == 0) {
            throw new JudgeInputException("scoring", "n_cot", "cot-rail needs at least one feedback (use rail)");
        }
        if (batchSize < 1) {
            throw new JudgeInputException("scoring", "batch_size", "must be at least 1");
        }
    }

    public static ScoreConfig defaults(ScoreMode mode) {
        return new ScoreConfig(mode, mode == ScoreMode.RAIL ? 0 : 1, GenerationConfig.tractSampling(1024, 0), false,
                8, 0);
    }
}
