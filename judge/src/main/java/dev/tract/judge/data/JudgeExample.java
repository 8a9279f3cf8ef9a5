package dev.tract.judge.data;

import java.util.List;

/**
 * One judge example: what was asked, the response to grade, the reference answer that gets a 5, the rubric,
 * zero or more feedback texts and one or more gold scores.
 *
 * @param feedbacks annotated feedback (chain of thought), without any "[RESULT] n" suffix
 * @param scores gold scores (several annotators); the gold value is their mean
 */
public record JudgeExample(String id, String instruction, String response, String referenceAnswer, Rubric rubric,
                           List<String> feedbacks, List<Double> scores) {
    public JudgeExample {
        feedbacks = List.copyOf(feedbacks);
        scores = List.copyOf(scores);
    }

    /** The mean of the gold scores. */
    public double gold() {
        return scores.stream().mapToDouble(Double::doubleValue).average().orElse(Double.NaN);
    }

    /** The gold score rounded to the nearest integer 1..5, the score written in training targets. */
    public int goldScore() {
        return (int) Math.max(1, Math.min(5, Math.round(gold())));
    }

    /** The first feedback, or the empty string. */
    public String feedback() {
        return feedbacks.isEmpty() ? "" : feedbacks.get(0);
    }

    public JudgeExample withFeedbacks(List<String> newFeedbacks) {
        return new JudgeExample(id, instruction, response, referenceAnswer, rubric, newFeedbacks, scores);
    }
}
