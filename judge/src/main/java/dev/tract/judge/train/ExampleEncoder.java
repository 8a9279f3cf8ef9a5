package dev.tract.judge.train;

import dev.tract.judge.JudgeInputException;
import dev.tract.judge.data.JudgeExample;
import dev.tract.judge.data.PromptTemplate;
import dev.tract.judge.data.Rubric;
import dev.tract.judge.data.Targets;
import dev.tract.judge.tokenizer.JudgeTokenizer;
import dev.tract.judge.tokenizer.ScoreTokens;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Turns judge examples into token ids within a maximum length.
 *
 * <p>Truncation rule: the template, the rubric's criteria and all five score descriptions, the phrase "So the
 * overall score is", the score token and the end-of-sequence token are never removed. When an example is too long,
 * the longest of the free-text fields (instruction, response, reference answer, feedback) is cut from its end, with
 * " ..." marking the cut, and this repeats until the example fits. If the fixed parts alone do not fit, the example
 * is rejected with an error naming it.
 */
public final class ExampleEncoder {
    static final String MARK = " ...";
    private final JudgeTokenizer tokenizer;
    private final ScoreTokens scoreTokens;
    private final PromptTemplate template;
    private final int maxLength;
    private final long eos;
    private final int markLength;

    public ExampleEncoder(JudgeTokenizer tokenizer, ScoreTokens scoreTokens, PromptTemplate template, int maxLength) {
        this.tokenizer = tokenizer;
        this.scoreTokens = scoreTokens;
        this.template = template;
        this.maxLength = maxLength;
        long e = tokenizer.singleTokenId(tokenizer.eosToken());
        if (e < 0) {
            throw new JudgeInputException(tokenizer.file().toString(), "eos_token",
                    "the tokenizer has no single-token end-of-sequence token");
        }
        this.eos = e;
        this.markLength = tokenizer.encode(MARK, false).length;
    }

    public ScoreTokens scoreTokens() {
        return scoreTokens;
    }

    public PromptTemplate template() {
        return template;
    }

    /** A training example: prompt + feedback (if given) + "So the overall score is" + score + EOS. */
    public EncodedExample encode(JudgeExample e, String feedback, int score) {
        String[] fields = {e.instruction(), e.response(), e.referenceAnswer(), feedback == null ? "" : feedback};
        while (true) {
            JudgeExample shown = with(e, fields);
            long[] prompt = tokenizer.encode(template.render(shown), true);
            long[] target = tokenizer.encode(Targets.beforeScore(fields[3], scoreTokens.spaceInPrefix()), false);
            int total = prompt.length + target.length + 2;
            if (total <= maxLength) {
                long[] ids = Arrays.copyOf(prompt, total);
                System.arraycopy(target, 0, ids, prompt.length, target.length);
                int scoreIndex = prompt.length + target.length;
                ids[scoreIndex] = scoreTokens.idOf(score);
                ids[scoreIndex + 1] = eos;
                return new EncodedExample(e.id(), ids, prompt.length, scoreIndex, e.gold());
            }
            shorten(e, fields, total - maxLength);
        }
    }

    /**
     * A generation or scoring prompt and whether a free-text field had to be cut to fit it.
     *
     * @param ids the prompt's token ids
     * @param cut true when the instruction, response or reference answer was shortened
     */
    public record Prompt(long[] ids, boolean cut) {}

    /** A scoring prompt: the prompt alone, leaving {@code reserve} tokens for what is generated after it. */
    public long[] encodePrompt(JudgeExample e, int reserve) {
        return prompt(e, reserve).ids();
    }

    /**
     * A generation or scoring prompt, leaving {@code reserve} tokens for what is generated after it, with whether it
     * had to be cut. A budget too small for the template and the rubric is refused with an error that names the
     * maximum length and the reserve, since those are what the user sets.
     */
    public Prompt prompt(JudgeExample e, int reserve) {
        String[] fields = {e.instruction(), e.response(), e.referenceAnswer(), ""};
        int budget = maxLength - reserve;
        boolean cut = false;
        while (true) {
            long[] prompt = tokenizer.encode(template.render(with(e, fields)), true);
            if (prompt.length <= budget) {
                return new Prompt(prompt, cut);
            }
            if (Arrays.stream(fields).allMatch(String::isEmpty)) {
                throw new JudgeInputException("record " + e.id(), "max_length", "max length " + maxLength
                        + " leaves " + budget + " tokens for the prompt after reserving " + reserve + " for generation "
                        + "(max_new_tokens and the score suffix), and the template with this rubric alone needs "
                        + prompt.length + "; raise max_length or lower max_new_tokens");
            }
            shorten(e, fields, prompt.length - budget);
            cut = true;
        }
    }

    /** The ids of the text that follows a feedback up to the score position. */
    public long[] scorePrefix(String feedback) {
        return tokenizer.encode(Targets.beforeScore(feedback, scoreTokens.spaceInPrefix()), false);
    }

    private static JudgeExample with(JudgeExample e, String[] f) {
        return new JudgeExample(e.id(), f[0], f[1], f[2], e.rubric(), f[3].isEmpty() ? List.of() : List.of(f[3]),
                e.scores());
    }

    private void shorten(JudgeExample e, String[] fields, int excess) {
        int longest = -1;
        long[] longestIds = null;
        for (int i = 0; i < fields.length; i++) {
            long[] ids = tokenizer.encode(fields[i], false);
            if (ids.length > 0 && (longestIds == null || ids.length > longestIds.length)) {
                longest = i;
                longestIds = ids;
            }
        }
        if (longestIds == null) {
            throw new JudgeInputException("record " + e.id(), "max_length", "the template and rubric alone need "
                    + "more than max length " + maxLength + " tokens" + rubricSize(e.rubric()));
        }
        int keep = longestIds.length - excess - markLength;
        String cut = keep <= 0 ? "" : tokenizer.decode(Arrays.copyOf(longestIds, keep), true) + MARK;
        if (!cut.isEmpty() && tokenizer.encode(cut, false).length >= longestIds.length) {
            cut = "";
        }
        fields[longest] = cut;
    }

    private String rubricSize(Rubric r) {
        List<String> parts = new ArrayList<>(r.descriptions());
        parts.add(r.criteria());
        int n = tokenizer.encode(String.join("\n", parts), false).length;
        return " (the rubric is " + n + " tokens)";
    }
}
