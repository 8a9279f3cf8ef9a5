package dev.tract.api;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * A bearer token of the API: a name (recorded as the submitter of what it submits), its secret and its scopes.
 * Written in the configuration as a mapping {@code {name, token, scopes}} or, in TRACT_API_TOKENS and
 * {@code --token}, as {@code name:scope+scope:secret}.
 */
public record ApiToken(String name, String token, Set<Scope> scopes) {
    /** What a token may do. */
    public enum Scope {
        /** list and read every pipeline and report */
        READ,
        /** submit pipelines, and read and cancel those it submitted */
        SUBMIT,
        /** cancel any pipeline */
        CANCEL,
        /** all of the above */
        ADMIN;

        static Scope parse(String s) {
            try {
                return valueOf(s.strip().toUpperCase(Locale.ROOT));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("unknown scope '" + s + "' (read, submit, cancel, admin)");
            }
        }
    }

    @JsonCreator
    public static ApiToken of(@JsonProperty("name") String name, @JsonProperty("token") String token,
                              @JsonProperty("scopes") List<String> scopes) {
        Set<Scope> set = EnumSet.noneOf(Scope.class);
        if (scopes != null) {
            scopes.forEach(s -> set.add(Scope.parse(s)));
        }
        return new ApiToken(name, token, set);
    }

    /** {@code name:scope+scope:secret}; the secret is everything after the second colon. */
    @JsonCreator(mode = JsonCreator.Mode.DELEGATING)
    public static ApiToken parse(String spec) {
        String[] parts = spec.strip().split(":", 3);
        if (parts.length != 3) {
            throw new IllegalArgumentException("an API token is written name:scopes:secret (scopes joined by +, "
                    + "e.g. ci:read+submit:<secret>); got one with " + (parts.length - 1) + " colons");
        }
        return of(parts[0], parts[2], List.of(parts[1].split("\\+")));
    }

    public boolean has(Scope s) {
        return scopes.contains(s) || scopes.contains(Scope.ADMIN);
    }

    @Override
    public String toString() {
        return "ApiToken[" + name + ", " + scopes + "]";
    }
}
