package dev.tract.judge.data;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The Prometheus absolute-grading prompt, as in Feedback Collection and the Prometheus evaluation files (Vicuna
 * Bench, MT Bench, FLASK): rendered from a judge example, and split back into its sections.
 */
public final class PrometheusPrompt {
    static final String TASK = """
            ###Task Description:
            An instruction (might include an Input inside it), a response to evaluate, a reference answer that gets \
            a score of 5, and a score rubric representing a evaluation criteria are given.
            1. Write a detailed feedback that assess the quality of the response strictly based on the given score \
            rubric, not evaluating in general.
            2. After writing a feedback, write a score that is an integer between 1 and 5. You should refer to the \
            score rubric.
            3. The output format should look as follows: "Feedback: (write a feedback for criteria) [RESULT] (an \
            integer number between 1 and 5)"
            4. Please do not generate any other opening, closing, and explanations.

            """;
    static final String INSTRUCTION = "###The instruction to evaluate:\n";
    static final String RESPONSE = "###Response to evaluate:\n";
    static final String REFERENCE = "###Reference Answer (Score 5):\n";
    static final String RUBRIC = "###Score Rubrics:\n";
    static final String FEEDBACK = "###Feedback: ";

    private static final Pattern SCORE_LINE = Pattern.compile("(?m)^Score ([1-5]):\\s?");

    private PrometheusPrompt() {}

    /** The whole judge prompt, ending in "###Feedback: ". */
    public static String render(JudgeExample e) {
        return TASK + INSTRUCTION + e.instruction() + "\n\n" + RESPONSE + e.response() + "\n\n" + REFERENCE
                + e.referenceAnswer() + "\n\n" + RUBRIC + rubric(e.rubric()) + "\n\n" + FEEDBACK;
    }

    /** "[criteria]\nScore 1: ...\n...Score 5: ..." */
    public static String rubric(Rubric r) {
        StringBuilder sb = new StringBuilder("[").append(r.criteria()).append("]");
        for (int k = 1; k <= 5; k++) {
            sb.append("\nScore ").append(k).append(": ").append(r.description(k));
        }
        return sb.toString();
    }

    /** The sections of a Prometheus prompt. Missing sections are null. */
    public record Sections(String instruction, String response, String referenceAnswer, Rubric rubric) {}

    /**
     * Splits a whole judge prompt back into its sections. Only the known headers split; anything else (an MT Bench
     * prompt's previous dialogue turn, say) stays inside the section it appears in.
     */
    public static Sections parse(String prompt) {
        String instruction = section(prompt, INSTRUCTION, RESPONSE);
        String response = section(prompt, RESPONSE, REFERENCE, RUBRIC);
        String reference = section(prompt, REFERENCE, RUBRIC);
        String rubricText = section(prompt, RUBRIC, FEEDBACK.trim());
        return new Sections(instruction, response, reference, rubricText == null ? null : parseRubric(rubricText));
    }

    private static String section(String prompt, String header, String... nextHeaders) {
        int start = prompt.indexOf(header);
        if (start < 0) {
            return null;
        }
        start += header.length();
        int end = -1;
        for (String next : nextHeaders) {
            int i = prompt.indexOf(next, start);
            if (i >= 0 && (end < 0 || i < end)) {
                end = i;
            }
        }
        String body = end < 0 ? prompt.substring(start) : prompt.substring(start, end);
        return stripSectionEnd(body);
    }

    /** Sections end with the blank line before the next header; only that is removed. */
    private static String stripSectionEnd(String s) {
        if (s.endsWith("\n\n")) {
            return s.substring(0, s.length() - 2);
        }
        return s.endsWith("\n") ? s.substring(0, s.length() - 1) : s;
    }

    /** Parses "[criteria]\nScore 1: ...". Descriptions that are missing come back empty. */
    public static Rubric parseRubric(String text) {
        Matcher m = SCORE_LINE.matcher(text);
        List<int[]> marks = new ArrayList<>();
        while (m.find()) {
            marks.add(new int[] {Integer.parseInt(m.group(1)), m.start(), m.end()});
        }
        String criteria = (marks.isEmpty() ? text : text.substring(0, marks.get(0)[1])).strip();
        if (criteria.startsWith("[") && criteria.endsWith("]")) {
            criteria = criteria.substring(1, criteria.length() - 1);
        }
        String[] desc = {"", "", "", "", ""};
        for (int i = 0; i < marks.size(); i++) {
            int end = i + 1 < marks.size() ? marks.get(i + 1)[1] : text.length();
            desc[marks.get(i)[0] - 1] = text.substring(marks.get(i)[2], end).strip();
        }
        return new Rubric(criteria.strip(), List.of(desc));
    }
}
