package dev.tract.workflows.spec;

/**
 * The method variants (TRACT and the paper's baselines): which stages run, with which objective, and whether the
 * judge writes feedback before its score at evaluation.
 */
public enum Method {
    /** Stage 1 CoT-RAFT on annotated feedback, self-generated CoTs, stage 2 CoT-RAFT from the seed weights. */
    TRACT("tract", "cot-raft", true, "cot-raft", true),
    /** Stage 1 only: CoT-RAFT on annotated feedback. */
    STAGE1_ONLY("stage1-only", "cot-raft", false, null, true),
    /** Cross-entropy on annotated feedback and score ("CE with CoT"). */
    CE_COT("ce-cot", "ce", false, null, true),
    /** Cross-entropy on the score alone ("CE without CoT"). */
    CE_SCORE("ce-score", "ce-score", false, null, false),
    /** RAFT on the score alone ("RAFT without CoT"). */
    RAFT("raft", "raft", false, null, false),
    /** Cross-entropy in both stages, stage 2 on self-generated CoTs. */
    CE_BOTH_STAGES("ce-both-stages", "ce", true, "ce", true),
    /** No training: the seed model is an existing judge that scores the eval sets (feedback, then score). */
    JUDGE("judge", null, false, null, true);

    private final String id;
    private final String stage1Objective;
    private final boolean twoStages;
    private final String stage2Objective;
    private final boolean cot;

    Method(String id, String stage1Objective, boolean twoStages, String stage2Objective, boolean cot) {
        this.id = id;
        this.stage1Objective = stage1Objective;
        this.twoStages = twoStages;
        this.stage2Objective = stage2Objective;
        this.cot = cot;
    }

    public String id() {
        return id;
    }

    /** Whether stage 1 runs (every method but judge). */
    public boolean trains() {
        return stage1Objective != null;
    }

    public String stage1Objective() {
        return stage1Objective;
    }

    /** Whether CoT self-generation and stage 2 run. */
    public boolean twoStages() {
        return twoStages;
    }

    public String stage2Objective() {
        return stage2Objective;
    }

    /** Whether the judge writes feedback before scoring (cot-rail / decode with CoT) or scores directly (rail). */
    public boolean cot() {
        return cot;
    }

    public static Method named(String id) {
        for (Method m : values()) {
            if (m.id.equals(id)) {
                return m;
            }
        }
        return null;
    }

    public static String ids() {
        StringBuilder sb = new StringBuilder();
        for (Method m : values()) {
            sb.append(sb.length() == 0 ? "" : ", ").append(m.id);
        }
        return sb.toString();
    }
}
