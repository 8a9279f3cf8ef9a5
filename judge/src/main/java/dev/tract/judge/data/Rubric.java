package dev.tract.judge.data;

import java.util.List;

/**
 * A score rubric: the criteria and the description of each score 1..5.
 *
 * @param descriptions descriptions.get(k-1) describes score k
 */
public record Rubric(String criteria, List<String> descriptions) {
    public Rubric {
        descriptions = List.copyOf(descriptions);
    }

    public String description(int score) {
        return descriptions.get(score - 1);
    }
}
