package dev.tract.judge.data;

import dev.tract.judge.JudgeInputException;
import java.util.Locale;

/**
 * How a judge example becomes the model's prompt. {@code prometheus} is the absolute-grading prompt of Feedback
 * Collection and the Prometheus evaluation files; {@code compact} says the same in far fewer tokens, for small
 * models trained from scratch. Both end where the feedback starts.
 */
public enum PromptTemplate {
    PROMETHEUS {
        @Override
        public String render(JudgeExample e) {
            return PrometheusPrompt.render(e);
        }
    },
    COMPACT {
        @Override
        public String render(JudgeExample e) {
            StringBuilder sb = new StringBuilder("Grade the response with the rubric. Write feedback, then the score.\n");
            sb.append("Instruction: ").append(e.instruction()).append('\n');
            sb.append("Response: ").append(e.response()).append('\n');
            if (!e.referenceAnswer().isEmpty()) {
                sb.append("Reference answer: ").append(e.referenceAnswer()).append('\n');
            }
            sb.append("Rubric: ").append(e.rubric().criteria()).append('\n');
            for (int k = 1; k <= 5; k++) {
                sb.append("Score ").append(k).append(": ").append(e.rubric().description(k)).append('\n');
            }
            return sb.append("Feedback: ").toString();
        }
    };

    public abstract String render(JudgeExample e);

    public String id() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static PromptTemplate named(String name) {
        try {
            return valueOf(name.trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new JudgeInputException("--template", "template", "'" + name
                    + "' is not one of prometheus, compact");
        }
    }
}
