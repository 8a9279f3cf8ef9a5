package dev.tract.judge.data;

/**
 * The training target: {@code <feedback> So the overall score is <y>}. A feedback that already states a score
 * ("... So the overall score is 4", or a "[RESULT] 4" suffix) is cut before it, so the score appears once, at the
 * end, where the regression-aware loss reads it.
 */
public final class Targets {
    public static final String CUT = "So the overall";
    public static final String RESULT = "[RESULT]";

    private Targets() {}

    /** The feedback up to (not including) "So the overall" or "[RESULT]", trimmed. */
    public static String cutFeedback(String feedback) {
        String f = feedback;
        int cut = f.indexOf(CUT);
        if (cut >= 0) {
            f = f.substring(0, cut);
        }
        int result = f.indexOf(RESULT);
        if (result >= 0) {
            f = f.substring(0, result);
        }
        return f.strip();
    }

    /** The target text before the score digit: "feedback So the overall score is" (plus the space if asked). */
    public static String beforeScore(String feedback, boolean trailingSpace) {
        String cut = cutFeedback(feedback);
        String phrase = "So the overall score is" + (trailingSpace ? " " : "");
        return cut.isEmpty() ? phrase : cut + " " + phrase;
    }

    /** The whole target text for a score. */
    public static String target(String feedback, int score) {
        return beforeScore(feedback, true) + score;
    }
}
