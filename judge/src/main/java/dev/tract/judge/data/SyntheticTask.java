package dev.tract.judge.data;

import dev.tract.judge.JudgeInputException;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * The built-in judge tasks. {@code checklist} (the default, what the quickstart trains on) states every rule in
 * the prompt, so a model trained from scratch can learn to check each item; {@code recall} asks for facts that
 * must be memorised (colours of fruits, capitals, letters of words) and is kept to show what a small model cannot
 * learn in minutes. In both the gold score is a deterministic function of the input, and so is the annotated
 * feedback: a generated feedback is correct exactly when it equals the annotated one.
 */
public enum SyntheticTask {
    CHECKLIST("checklist") {
        @Override
        public List<JudgeExample> examples(int n, long seed) {
            return ChecklistTask.generate(n, seed);
        }
    },
    RECALL("recall") {
        @Override
        public List<JudgeExample> examples(int n, long seed) {
            return RecallTask.generate(n, seed);
        }
    };

    private final String id;

    SyntheticTask(String id) {
        this.id = id;
    }

    /** n examples for a seed; the same (n, seed) always gives the same list, scores balanced over 1-5. */
    public abstract List<JudgeExample> examples(int n, long seed);

    /** The default task's examples. */
    public static List<JudgeExample> generate(int n, long seed) {
        return CHECKLIST.examples(n, seed);
    }

    public String id() {
        return id;
    }

    public static SyntheticTask named(String name) {
        try {
            return valueOf(name.trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new JudgeInputException("--task", "task", "'" + name + "' is not one of "
                    + Arrays.toString(Arrays.stream(values()).map(SyntheticTask::id).toArray()));
        }
    }

    /** The task an example was made by, recognised from its id ({@code <task>-<seed>-<index>}). */
    public static Optional<SyntheticTask> of(JudgeExample e) {
        for (SyntheticTask t : values()) {
            if (e.id().matches(t.id + "-(-?\\d+)-\\d{5,}") && !e.feedbacks().isEmpty()) {
                return Optional.of(t);
            }
        }
        return Optional.empty();
    }

    /**
     * Whether a generated feedback checks every item and carries the right count, for an example of a built-in
     * task (which knows the truth: its annotated feedback); empty for any other example.
     */
    public static Optional<Boolean> feedbackCorrect(JudgeExample e, String feedback) {
        return of(e).map(t -> normalize(Targets.cutFeedback(feedback)).equals(normalize(Targets.cutFeedback(
                e.feedback()))));
    }

    private static String normalize(String s) {
        return s.strip().replaceAll("\\s+", " ");
    }
}
