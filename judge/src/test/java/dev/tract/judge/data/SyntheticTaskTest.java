package dev.tract.judge.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.tract.judge.JudgeInputException;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

class SyntheticTaskTest {
    private static final Pattern CHECK = Pattern.compile("([a-d])\\) (\\d+) > (\\d+): (pass|fail), (\\d)\\.");

    @Test
    void sameSeedSameDataAndScoresAreBalanced() {
        for (SyntheticTask task : SyntheticTask.values()) {
            List<JudgeExample> a = task.examples(500, 3);
            assertThat(task.examples(500, 3)).isEqualTo(a);
            assertThat(task.examples(500, 4)).isNotEqualTo(a);
            Map<Integer, Long> perScore = a.stream().collect(Collectors.groupingBy(JudgeExample::goldScore,
                    Collectors.counting()));
            assertThat(perScore).as(task.id()).containsOnlyKeys(1, 2, 3, 4, 5)
                    .allSatisfy((k, v) -> assertThat(v).isEqualTo(100));
            assertThat(a.stream().map(JudgeExample::id).distinct().count()).isEqualTo(500);
            assertThat(a).allSatisfy(e -> assertThat(SyntheticTask.of(e)).contains(task));
        }
        assertThat(SyntheticTask.generate(20, 1)).isEqualTo(SyntheticTask.CHECKLIST.examples(20, 1));
        assertThat(SyntheticTask.named("Recall")).isEqualTo(SyntheticTask.RECALL);
        assertThatThrownBy(() -> SyntheticTask.named("chess")).isInstanceOf(JudgeInputException.class)
                .hasMessageContaining("checklist").hasMessageContaining("recall");
    }

    /**
     * Every check of the checklist feedback copies an item of the response and the threshold the instruction states,
     * marks it by the rule, and carries the running score; the last running score is the gold score.
     */
    @Test
    void everyChecklistStepIsALocalCheckOfARuleThePromptStates() {
        for (JudgeExample e : SyntheticTask.CHECKLIST.examples(300, 11)) {
            int threshold = Integer.parseInt(e.instruction().replaceAll("\\D+", ""));
            assertThat(e.rubric().criteria()).contains("above " + threshold);
            Matcher m = CHECK.matcher(e.feedback());
            int running = 1;
            int checks = 0;
            while (m.find()) {
                int item = Integer.parseInt(m.group(2));
                assertThat(e.response()).contains(m.group(1) + ") " + item);
                assertThat(Integer.parseInt(m.group(3))).isEqualTo(threshold);
                assertThat(m.group(4)).isEqualTo(item > threshold ? "pass" : "fail");
                running += item > threshold ? 1 : 0;
                assertThat(Integer.parseInt(m.group(5))).isEqualTo(running);
                checks++;
            }
            assertThat(checks).as(e.feedback()).isEqualTo(4);
            assertThat(running).isEqualTo(e.goldScore());
        }
    }

    /** A target's length must not give its score away: passes and fails read alike. */
    @Test
    void targetLengthSaysNothingAboutTheScore() {
        Map<Integer, Double> meanLength = SyntheticTask.CHECKLIST.examples(1000, 5).stream().collect(
                Collectors.groupingBy(JudgeExample::goldScore, Collectors.averagingInt(e -> e.feedback().length())));
        double min = meanLength.values().stream().mapToDouble(Double::doubleValue).min().orElseThrow();
        double max = meanLength.values().stream().mapToDouble(Double::doubleValue).max().orElseThrow();
        assertThat(max - min).as(meanLength.toString()).isLessThan(0.5);
    }

    @Test
    void aFeedbackIsCorrectExactlyWhenItMatchesTheTruth() {
        JudgeExample e = SyntheticTask.CHECKLIST.examples(1, 2).get(0);
        String right = e.feedback();
        assertThat(SyntheticTask.feedbackCorrect(e, right)).contains(true);
        assertThat(SyntheticTask.feedbackCorrect(e, "  " + right.replace(" ", "  ") + " So the overall score is 9"))
                .contains(true);
        String flipped = right.contains("pass") ? right.replaceFirst("pass", "fail") : right.replaceFirst("fail",
                "pass");
        assertThat(SyntheticTask.feedbackCorrect(e, flipped)).contains(false);
        JudgeExample foreign = new JudgeExample("mine-1", e.instruction(), e.response(), "", e.rubric(),
                e.feedbacks(), e.scores());
        assertThat(SyntheticTask.feedbackCorrect(foreign, right)).isEmpty();
    }

    @Test
    void promptsFitSmallContexts() {
        Function<JudgeExample, Integer> chars = e -> PromptTemplate.COMPACT.render(e).length()
                + Targets.target(e.feedback(), e.goldScore()).length();
        assertThat(SyntheticTask.generate(200, 1).stream().mapToInt(chars::apply).max().orElseThrow())
                .isLessThan(700);
    }
}
