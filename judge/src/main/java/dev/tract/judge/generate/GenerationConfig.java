package dev.tract.judge.generate;

import dev.tract.judge.JudgeInputException;
import java.util.List;

/**
 * How to generate: greedy or sampled, with Hugging Face's semantics for temperature, top-k, top-p and repetition
 * penalty (applied in that library's order: repetition penalty, temperature, top-k, top-p).
 *
 * @param sample false for greedy decoding
 * @param topK 0 disables top-k filtering
 * @param stopStrings generation of a sequence stops once its text contains one of these (kept in the text)
 * @param seed the same seed gives the same text
 * @param useCache keep keys and values between steps (off only to measure what the cache buys)
 */
public record GenerationConfig(int maxNewTokens, boolean sample, double temperature, int topK, double topP,
                               double repetitionPenalty, List<String> stopStrings, long seed, boolean useCache) {
    public GenerationConfig {
        stopStrings = List.copyOf(stopStrings);
        check(maxNewTokens >= 1, "max_new_tokens", "must be at least 1, got " + maxNewTokens);
        check(temperature > 0, "temperature", "must be positive, got " + temperature);
        check(topK >= 0, "top_k", "must be 0 (off) or positive, got " + topK);
        check(topP > 0 && topP <= 1, "top_p", "must be in (0, 1], got " + topP);
        check(repetitionPenalty > 0, "repetition_penalty", "must be positive, got " + repetitionPenalty);
        for (String s : stopStrings) {
            check(!s.isEmpty(), "stop_strings", "must not contain an empty string");
        }
    }

    private static void check(boolean ok, String field, String message) {
        if (!ok) {
            throw new JudgeInputException("generation", field, message);
        }
    }

    public static GenerationConfig greedy(int maxNewTokens) {
        return new GenerationConfig(maxNewTokens, false, 1.0, 0, 1.0, 1.0, List.of(), 0, true);
    }

    /** TRACT's CoT sampling: temperature 1.0, top-p 0.9, repetition penalty 1.03, stop at "[RESULT]". */
    public static GenerationConfig tractSampling(int maxNewTokens, long seed) {
        return new GenerationConfig(maxNewTokens, true, 1.0, 0, 0.9, 1.03, List.of("[RESULT]"), seed, true);
    }

    public GenerationConfig withSeed(long s) {
        return new GenerationConfig(maxNewTokens, sample, temperature, topK, topP, repetitionPenalty, stopStrings, s,
                useCache);
    }

    public GenerationConfig withCache(boolean cache) {
        return new GenerationConfig(maxNewTokens, sample, temperature, topK, topP, repetitionPenalty, stopStrings, seed,
                cache);
    }

    public GenerationConfig withStopStrings(List<String> stops) {
        return new GenerationConfig(maxNewTokens, sample, temperature, topK, topP, repetitionPenalty, stops, seed,
                useCache);
    }
}
