package dev.tract.judge.model;

import dev.tract.judge.JudgeInputException;
import java.util.Arrays;
import java.util.Locale;

/**
 * Model sizes for judges trained from scratch here. {@code tiny} (125K parameters) is for tests and trains in
 * seconds; {@code mini} (about 1M) learns the synthetic task in minutes on a CPU; {@code small} has about 10M.
 */
public enum Preset {
    TINY(512, 64, 176, 2, 4, 2, 1024, true),
    MINI(2048, 128, 352, 4, 4, 2, 2048, true),
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
                pad);
    }
}
