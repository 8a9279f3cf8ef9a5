package dev.tract.judge.train;

import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.List;
import java.util.Random;

/**
 * The data order: a function of (seed, epoch) only, so that a resumed run sees exactly the batches an
 * uninterrupted run would. Each epoch shuffles the examples, sorts windows of 50 batches by length so that a batch
 * holds examples of similar length (less padding), then shuffles the order of the batches.
 */
public final class Batcher {
    static final int WINDOW_BATCHES = 50;
    private final int[] lengths;
    private final int batchSize;
    private final long seed;

    public Batcher(int[] lengths, int batchSize, long seed) {
        this.lengths = lengths.clone();
        this.batchSize = batchSize;
        this.seed = seed;
    }

    public int batchesPerEpoch() {
        return (lengths.length + batchSize - 1) / batchSize;
    }

    /** The batches of one epoch, each a list of example indices. */
    public List<int[]> epoch(int epoch) {
        Random rnd = new Random(seed * 1_000_003L + epoch * 7919L + 17);
        List<Integer> order = new ArrayList<>();
        for (int i = 0; i < lengths.length; i++) {
            order.add(i);
        }
        Collections.shuffle(order, rnd);
        int window = batchSize * WINDOW_BATCHES;
        List<int[]> batches = new ArrayList<>();
        for (int from = 0; from < order.size(); from += window) {
            List<Integer> chunk = new ArrayList<>(order.subList(from, Math.min(order.size(), from + window)));
            chunk.sort(Comparator.comparingInt(i -> lengths[i]));
            for (int b = 0; b < chunk.size(); b += batchSize) {
                batches.add(chunk.subList(b, Math.min(chunk.size(), b + batchSize)).stream()
                        .mapToInt(Integer::intValue).toArray());
            }
        }
        Collections.shuffle(batches, rnd);
        return batches;
    }
}
