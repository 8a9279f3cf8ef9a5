package dev.tract.judge.data;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;

/**
 * The built-in judge task: the instruction asks for four numbers above a threshold, the response lists four, and
 * the rubric restates the rule. The feedback checks the items one by one, each check a local step: copy the item
 * and the threshold side by side ({@code 52 > 47}), mark it pass or fail, and carry the running score, which starts
 * at 1 and gains one per pass. So the feedback turns the score into a sequence of small steps, while a judge
 * without feedback has to compare four numbers with the threshold and count the passes at once.
 *
 * <p>Every fact a check needs is in the prompt: nothing is memorised. Every check compares in the same direction
 * (item above threshold), so a check is the same local function whatever the wording of the instruction. Scores
 * are balanced over 1-5, and a pass and a fail are written with the same number of tokens, so a target's length says
 * nothing about its score.
 */
final class ChecklistTask {
    static final int ITEMS = 4;
    private static final String[] LABELS = {"a)", "b)", "c)", "d)"};
    private static final String[] DESCRIPTIONS = {"No item passes.", "One item passes.", "Two items pass.",
        "Three items pass.", "All four pass."};
    /** Ways of asking for numbers above a threshold: {what, comparison}. */
    private static final String[][] ASKS = {{"numbers", "above"}, {"ages", "over"}, {"prices", "higher than"},
        {"scores", "greater than"}, {"numbers", "larger than"}, {"speeds", "above"}};

    private ChecklistTask() {}

    /** n examples for a seed; the same (n, seed) always gives the same list. Score k for every fifth example. */
    static List<JudgeExample> generate(int n, long seed) {
        Random rnd = new Random(seed);
        List<JudgeExample> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            out.add(example(String.format("checklist-%d-%05d", seed, i), pattern(i % 5, rnd), rnd));
        }
        Collections.shuffle(out, rnd);
        return out;
    }

    /** Which of the four items pass: {@code passes} of them, at random places. */
    private static boolean[] pattern(int passes, Random rnd) {
        List<Integer> slots = new ArrayList<>(List.of(0, 1, 2, 3));
        Collections.shuffle(slots, rnd);
        boolean[] p = new boolean[ITEMS];
        for (int j = 0; j < passes; j++) {
            p[slots.get(j)] = true;
        }
        return p;
    }

    private static int between(int low, int high, Random rnd) {
        return low + rnd.nextInt(high - low + 1);
    }

    private static JudgeExample example(String id, boolean[] pass, Random rnd) {
        String[] ask = ASKS[rnd.nextInt(ASKS.length)];
        int t = between(20, 79, rnd);
        List<String> items = new ArrayList<>();
        List<String> checks = new ArrayList<>();
        int score = 1;
        for (int j = 0; j < ITEMS; j++) {
            // a pass lies in [t+1, 99], a fail in [10, t]: two digits either way
            int v = pass[j] ? between(t + 1, 99, rnd) : between(10, t, rnd);
            score += pass[j] ? 1 : 0;
            items.add(LABELS[j] + " " + v);
            checks.add(LABELS[j] + " " + v + " > " + t + ": " + (pass[j] ? "pass" : "fail") + ", " + score + ".");
        }
        String instruction = "List four " + ask[0] + " " + ask[1] + " " + t + ".";
        String criteria = "An item passes if it is above " + t + ". Score 1 plus one per pass.";
        return new JudgeExample(id, instruction, String.join("; ", items) + ".", "",
                new Rubric(criteria, List.of(DESCRIPTIONS)), List.of(String.join(" ", checks)),
                List.of((double) score));
    }
}
