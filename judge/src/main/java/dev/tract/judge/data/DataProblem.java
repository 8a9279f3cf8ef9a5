package dev.tract.judge.data;

/**
 * One thing wrong with input data.
 *
 * @param location file and line (JSONL) or file and index (JSON array), e.g. {@code train.jsonl:12}
 * @param field the field that is wrong, or {@code (record)} when the whole record is
 */
public record DataProblem(String location, String field, String message) {
    @Override
    public String toString() {
        return location + ": field '" + field + "': " + message;
    }
}
