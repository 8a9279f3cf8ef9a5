package dev.tract.judge.train;

import dev.tract.judge.JudgeInputException;

/**
 * What a training run optimises.
 *
 * <ul>
 *   <li>{@code cot-raft}: cross-entropy over the target tokens except the score token, plus λ times the RAFT loss
 *       (y* − Σ k·p(k))² at the score position. TRACT's objective, in both stages.</li>
 *   <li>{@code ce}: cross-entropy over every target token (feedback, score, end of sequence): "CE with CoT".</li>
 *   <li>{@code raft}: the RAFT loss alone, on a target without feedback: "RAFT without CoT".</li>
 *   <li>{@code ce-score}: cross-entropy over a target without feedback: "CE without CoT".</li>
 * </ul>
 */
public enum Objective {
    COT_RAFT("cot-raft", true, true, true),
    CE("ce", true, true, false),
    RAFT("raft", false, false, true),
    CE_SCORE("ce-score", false, true, false);

    private final String id;
    private final boolean feedback;
    private final boolean crossEntropy;
    private final boolean raft;

    Objective(String id, boolean feedback, boolean crossEntropy, boolean raft) {
        this.id = id;
        this.feedback = feedback;
        this.crossEntropy = crossEntropy;
        this.raft = raft;
    }

    public String id() {
        return id;
    }

    /** Whether targets carry feedback (a chain of thought) before the score. */
    public boolean usesFeedback() {
        return feedback;
    }

    public boolean hasCrossEntropy() {
        return crossEntropy;
    }

    public boolean hasRaft() {
        return raft;
    }

    /** Whether the score token itself is in the cross-entropy (not for cot-raft, where RAFT handles it). */
    public boolean crossEntropyOnScore() {
        return crossEntropy && !raft;
    }

    public static Objective named(String name) {
        for (Objective o : values()) {
            if (o.id.equals(name)) {
                return o;
            }
        }
        throw new JudgeInputException("--objective", "objective", "'" + name
                + "' is not one of cot-raft, ce, raft, ce-score");
    }
}
