package dev.tract.cli;

import dev.tract.judge.JudgeInputException;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Memory sizes as people write them: 80GiB, 80G (binary), 80GB (decimal), 512MiB, or plain bytes. */
final class Sizes {
    private static final Pattern SIZE = Pattern.compile("\\s*([0-9]+(?:\\.[0-9]+)?)\\s*([KMGT]?)(I?B?)\\s*");

    private Sizes() {}

    static long parse(String text, String option) {
        Matcher m = SIZE.matcher(text.toUpperCase(Locale.ROOT));
        if (!m.matches() || (m.group(2).isEmpty() && !m.group(3).isEmpty() && !m.group(3).equals("B"))) {
            throw new JudgeInputException(option, option.replaceFirst("^--", ""), "'" + text + "' is not a size; "
                    + "write it as 80GiB, 80G, 80GB or 512MiB");
        }
        double v = Double.parseDouble(m.group(1));
        int power = "KMGT".indexOf(m.group(2)) + 1;
        // 80GB is decimal; 80G and 80GiB are binary, as GPU memory is quoted
        double base = m.group(3).equals("B") && power > 0 ? 1000 : 1024;
        return Math.round(v * Math.pow(base, power));
    }

    static String format(long bytes) {
        double gib = bytes / (double) (1L << 30);
        if (gib >= 1) {
            return String.format(Locale.ROOT, "%.1f GiB", gib);
        }
        return String.format(Locale.ROOT, "%.0f MiB", bytes / (double) (1L << 20));
    }
}
