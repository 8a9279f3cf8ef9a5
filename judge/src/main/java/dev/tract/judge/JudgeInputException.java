package dev.tract.judge;

/**
 * Bad input from the user: a missing file, a malformed config, a tensor of the wrong shape, a record with a bad
 * field. The message always names the file (or other source) and the field. The command line maps it to exit
 * code 2; the pipeline maps it to a non-retryable failure.
 */
public class JudgeInputException extends RuntimeException {
    private final String source;
    private final String field;

    public JudgeInputException(String source, String field, String problem) {
        this(source, field, problem, null);
    }

    public JudgeInputException(String source, String field, String problem, Throwable cause) {
        super(format(source, field, problem), cause);
        this.source = source;
        this.field = field;
    }

    private static String format(String source, String field, String problem) {
        StringBuilder sb = new StringBuilder();
        if (source != null && !source.isEmpty()) {
            sb.append(source).append(": ");
        }
        if (field != null && !field.isEmpty()) {
            sb.append("field '").append(field).append("': ");
        }
        return sb.append(problem).toString();
    }

    /** The file, URI or record the problem was found in. */
    public String source() {
        return source;
    }

    /** The field (or tensor name) that is wrong, or null when the whole source is. */
    public String field() {
        return field;
    }
}
