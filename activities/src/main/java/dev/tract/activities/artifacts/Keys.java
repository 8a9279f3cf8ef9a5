package dev.tract.activities.artifacts;

import dev.tract.judge.JudgeInputException;
import java.util.regex.Pattern;

/** Artifact keys: '/'-separated segments of safe characters; no "..", no empty segment, nothing absolute. */
public final class Keys {
    private static final Pattern SEGMENT = Pattern.compile("[A-Za-z0-9._=+-]+");

    private Keys() {}

    public static String check(String key) {
        if (key == null || key.isEmpty() || key.startsWith("/") || key.endsWith("/")) {
            throw new JudgeInputException("artifact key", "key", "'" + key + "' is not a relative path");
        }
        for (String s : key.split("/", -1)) {
            if (s.equals(".") || s.equals("..") || !SEGMENT.matcher(s).matches()) {
                throw new JudgeInputException("artifact key", "key", "'" + key + "' has an unsafe segment '" + s
                        + "' (letters, digits and . _ = + - only; no '..')");
            }
        }
        return key;
    }
}
