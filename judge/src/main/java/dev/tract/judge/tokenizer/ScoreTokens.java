package dev.tract.judge.tokenizer;

import dev.tract.judge.JudgeInputException;
import java.util.Arrays;

/**
 * The token ids of the scores "1".."5" as the tokenizer emits them after "So the overall score is", found from the
 * tokenizer itself. Either the digit follows a prefix that ends with the space (Llama/Mistral sentencepiece,
 * Qwen2, byte-level BPE with split digits) or the digit's token carries the space (GPT-2 style " 3").
 *
 * @param ids ids[k-1] is the id of score k
 * @param spaceInPrefix true when the prompt before the score ends with the space
 */
public record ScoreTokens(long[] ids, boolean spaceInPrefix) {
    public static final String PHRASE = "So the overall score is";
    public static final int MIN = 1;
    public static final int MAX = 5;

    /** The text that precedes the score token, with or without its trailing space. */
    public String prefix() {
        return spaceInPrefix ? PHRASE + " " : PHRASE;
    }

    /** The score k (1..5) whose id this is, or 0. */
    public int scoreOf(long id) {
        for (int k = 0; k < ids.length; k++) {
            if (ids[k] == id) {
                return k + 1;
            }
        }
        return 0;
    }

    public long idOf(int score) {
        return ids[score - 1];
    }

    /** Detects the score tokens; fails with a message naming the tokenizer when a digit is not one token. */
    public static ScoreTokens detect(JudgeTokenizer tokenizer) {
        ScoreTokens withSpace = tryDetect(tokenizer, true);
        if (withSpace != null) {
            return withSpace;
        }
        ScoreTokens inToken = tryDetect(tokenizer, false);
        if (inToken != null) {
            return inToken;
        }
        String example = PHRASE + " 3";
        throw new JudgeInputException(tokenizer.file().toString(), "score tokens", "each digit 1-5 must be exactly "
                + "one token after '" + PHRASE + " ', but '" + example + "' tokenizes as "
                + tokenizer.tokens(example) + "; use a tokenizer whose vocabulary has single-token digits");
    }

    private static ScoreTokens tryDetect(JudgeTokenizer tokenizer, boolean spaceInPrefix) {
        String prefix = spaceInPrefix ? PHRASE + " " : PHRASE;
        long[] p = tokenizer.encode(prefix, false);
        long[] ids = new long[MAX];
        for (int k = MIN; k <= MAX; k++) {
            long[] full = tokenizer.encode(PHRASE + " " + k, false);
            if (full.length != p.length + 1 || !Arrays.equals(Arrays.copyOf(full, p.length), p)) {
                return null;
            }
            ids[k - 1] = full[p.length];
        }
        if (Arrays.stream(ids).distinct().count() != MAX) {
            return null;
        }
        return new ScoreTokens(ids, spaceInPrefix);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ScoreTokens s && Arrays.equals(ids, s.ids) && spaceInPrefix == s.spaceInPrefix;
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(ids) * 31 + Boolean.hashCode(spaceInPrefix);
    }

    @Override
    public String toString() {
        return "ScoreTokens" + Arrays.toString(ids) + (spaceInPrefix ? " after '" : " including the space after '")
                + PHRASE + "'";
    }
}
