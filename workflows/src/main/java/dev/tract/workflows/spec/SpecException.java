package dev.tract.workflows.spec;

import java.util.List;
import java.util.stream.Collectors;

/** An invalid pipeline spec: every problem, each named by its field path (e.g. {@code stage1.lr}). */
public class SpecException extends RuntimeException {
    /** One invalid field. */
    public record FieldError(String field, String message) {
        @Override
        public String toString() {
            return field + ": " + message;
        }
    }

    private final List<FieldError> errors;

    public SpecException(List<FieldError> errors) {
        super("invalid pipeline spec: " + errors.stream().map(FieldError::toString)
                .collect(Collectors.joining("; ")));
        this.errors = List.copyOf(errors);
    }

    public List<FieldError> errors() {
        return errors;
    }
}
