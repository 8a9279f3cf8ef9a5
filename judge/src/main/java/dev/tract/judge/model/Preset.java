package dev.tract.judge.model;

import dev.tract.judge.JudgeInputException;
import java.util.Arrays;
import java.util.Locale;

/**
 * Model sizes for judges trained from scratch here. {@code tiny} (about 0.1M parameters) is for tests and trains in
 * seconds; {@code mini} (about 0.4M) learns the built-in checklist task in two minutes on two CPU cores;
 * {@code small} has about 10M.
 *
 * <p>Weights start from normal(0, 0.8/sqrt(hidden)) rather than transformers' fixed 0.02, which is tuned for widths
 * in the thousands: at these widths 0.02 leaves attention uniform for hundreds of steps, and a judge trained from
 * scratch needs attention that finds an item in the response (an induction head) early. Measured on the checklist
 * task with {@code mini}'s width: copying learned within about 300 steps instead of not at all in 1,500.
 */
public enum Preset {
    TINY(512, 64, 176, 2, 4, 2, 1024, true),
    MINI(2048, 96, 256, 3, 4, 2, 2048, true),
    SMALL(2048, 320, 864, 8, 8, 4, 2048, false);

    private final int tokenizerVocab;
    private final int hidden;
    private final int intermediate;
    private final int layers;
    private final int heads;
    private final int kvHeads;
    private final int maxPositions;
    private final boolean tied;

    Preset(int tokenizerVocab, int hidden, int intermediate, int layers, int heads, int kvHeads, int maxPositions,
           boolean tied) {
        this.tokenizerVocab = tokenizerVocab;
        this.hidden = hidden;
        this.intermediate = intermediate;
        this.layers = layers;
        this.heads = heads;
        this.kvHeads = kvHeads;
        this.maxPositions = maxPositions;
        this.tied = tied;
    }

    public static Preset named(String name) {
        try {
            return valueOf(name.trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new JudgeInputException("--preset", "preset", "'" + name + "' is not one of "
                    + Arrays.toString(Arrays.stream(values()).map(Preset::id).toArray()));
        }
    }

    public String id() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** Target size of the byte-level BPE vocabulary learned for this preset. */
    public int tokenizerVocab() {
        return tokenizerVocab;
    }

    public int maxPositions() {
        return maxPositions;
    }

    /** The config for a tokenizer of the given size; the embedding is rounded up to a multiple of 64 rows. */
    public LlamaConfig config(int vocabSize, int bos, int eos, int pad) {
        int rounded = (vocabSize + 63) / 64 * 64;
        return LlamaConfig.of(rounded, hidden, intermediate, layers, heads, kvHeads, maxPositions, tied, bos, eos,
                pad, initializerRange());
    }

    /** Everything that determines the models this preset makes (with the seed and the code's version). */
    public String definition() {
        return id() + "(vocab " + tokenizerVocab + ", hidden " + hidden + ", intermediate " + intermediate
                + ", layers " + layers + ", heads " + heads + "/" + kvHeads + ", positions " + maxPositions
                + ", tied " + tied + ", init " + initializerRange() + ")";
    }

    /** The standard deviation of the initial weights: 0.8/sqrt(hidden), rounded to three decimals. */
    public double initializerRange() {
        return Math.round(800 / Math.sqrt(hidden)) / 1000.0;
    }
}
