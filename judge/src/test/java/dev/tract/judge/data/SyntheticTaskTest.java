package dev.tract.judge.data;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

class SyntheticTaskTest {
    @Test
    void sameSeedSameDataAndScoresAreBalanced() {
        var a = SyntheticTask.generate(500, 3);
        assertThat(SyntheticTask.generate(500, 3)).isEqualTo(a);
        assertThat(SyntheticTask.generate(500, 4)).isNotEqualTo(a);
        Map<Integer, Long> perScore = a.stream().collect(Collectors.groupingBy(JudgeExample::goldScore,
                Collectors.counting()));
        assertThat(perScore).containsOnlyKeys(1, 2, 3, 4, 5).allSatisfy((k, v) -> assertThat(v).isEqualTo(100));
        Map<String, Long> variants = a.stream().collect(Collectors.groupingBy(JudgeExample::instruction,
                Collectors.counting())).entrySet().stream().collect(Collectors.groupingBy(
                        e -> e.getKey().split(" ")[0] + " " + e.getKey().split(" ")[1], Collectors.counting()));
        assertThat(variants.size()).as("instruction kinds").isGreaterThanOrEqualTo(4);
        assertThat(a.stream().map(JudgeExample::id).distinct().count()).isEqualTo(500);
    }

    @Test
    void goldScoreIsOnePlusTheItemsTheFeedbackFindsCorrect() {
        for (JudgeExample e : SyntheticTask.generate(300, 11)) {
            String f = e.feedback();
            String[] checks = f.substring("Check each item. ".length()).split("\\. (?=[a-d]\\) |[A-Z])");
            long positives = java.util.Arrays.stream(checks).limit(4).filter(c -> isPositive(c, e)).count();
            assertThat(positives + 1).as(f).isEqualTo((long) e.goldScore());
            assertThat(e.rubric().description(e.goldScore())).isEqualTo(f.substring(f.lastIndexOf(". ") + 2));
        }
    }

    private static boolean isPositive(String check, JudgeExample e) {
        if (check.contains(" has ") && check.contains(" letters")) {
            int n = Integer.parseInt(check.replaceAll(".* has (\\d+) letters.*", "$1"));
            return n > 5;
        }
        return !(check.contains(" not ") || check.contains(" odd") || check.contains("wrong"));
    }

    @Test
    void promptsFitSmallContexts() {
        Function<JudgeExample, Integer> chars = e -> PromptTemplate.COMPACT.render(e).length()
                + Targets.target(e.feedback(), e.goldScore()).length();
        assertThat(SyntheticTask.generate(200, 1).stream().mapToInt(chars::apply).max().orElseThrow())
                .isLessThan(1200);
    }
}
