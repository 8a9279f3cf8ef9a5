package dev.tract.judge.data;

import dev.tract.judge.generate.Generation;

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

    /**
     * Whether a generated feedback ended cleanly: at end of sequence or a stop string, or having written "So the
     * overall" (after which the text is cut anyway), rather than running into the token limit mid-sentence.
     */
    public static boolean wellFormed(Generation g) {
        return !g.finishReason().equals("length") || g.text().contains(CUT);
    }

    /** The whole target text for a score. */
    public static String target(String feedback, int score) {
        return beforeScore(feedback, true) + score;
    }
}
