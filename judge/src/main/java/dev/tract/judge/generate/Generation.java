package dev.tract.judge.generate;

/**
 * One generated continuation.
 *
 * @param text the new text (special tokens removed; cut right after a stop string when one ended it)
 * @param tokenIds the new tokens
 * @param finishReason {@code eos}, {@code stop} (a stop string) or {@code length}
 */
public record Generation(String text, long[] tokenIds, String finishReason) {
    public int newTokens() {
        return tokenIds.length;
    }
}
