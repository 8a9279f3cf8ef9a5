package dev.tract.judge.train;

/**
 * A judge example as token ids: prompt (with the tokenizer's special prefix), target text, score token, end of
 * sequence.
 *
 * @param promptLength ids[0, promptLength) are the prompt
 * @param scoreIndex ids[scoreIndex] is the score token; the model predicts it at scoreIndex - 1
 * @param gold the gold score (mean of the annotations) used by the RAFT loss
 */
public record EncodedExample(String id, long[] ids, int promptLength, int scoreIndex, double gold) {
    public int length() {
        return ids.length;
    }
}
