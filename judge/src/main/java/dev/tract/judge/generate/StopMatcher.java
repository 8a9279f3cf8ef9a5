package dev.tract.judge.generate;

import dev.tract.judge.tokenizer.JudgeTokenizer;
import java.util.List;

/** Detects stop strings in the text of the tokens generated so far, decoding only the last few tokens. */
final class StopMatcher {
    private final List<String> stops;
    private final JudgeTokenizer tokenizer;
    private final int window;

    StopMatcher(List<String> stops, JudgeTokenizer tokenizer) {
        this.stops = stops;
        this.tokenizer = tokenizer;
        this.window = stops.stream().mapToInt(String::length).max().orElse(0) + 2;
    }

    boolean matches(List<Long> generated) {
        if (stops.isEmpty()) {
            return false;
        }
        int from = Math.max(0, generated.size() - window);
        long[] tail = generated.subList(from, generated.size()).stream().mapToLong(Long::longValue).toArray();
        String text = tokenizer.decode(tail, true);
        for (String s : stops) {
            if (text.contains(s)) {
                return true;
            }
        }
        return false;
    }

    /** The text up to and including the first stop string it contains. */
    String cutAfter(String text) {
        int best = -1;
        String which = null;
        for (String s : stops) {
            int i = text.indexOf(s);
            if (i >= 0 && (best < 0 || i < best)) {
                best = i;
                which = s;
            }
        }
        return best < 0 ? text : text.substring(0, best + which.length());
    }
}
