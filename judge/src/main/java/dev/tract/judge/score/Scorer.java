package dev.tract.judge.score;

import dev.tract.judge.data.JudgeExample;
import dev.tract.judge.data.SyntheticTask;
import dev.tract.judge.data.Targets;
import dev.tract.judge.generate.Generation;
import dev.tract.judge.generate.Generator;
import dev.tract.judge.generate.TokenChooser;
import dev.tract.judge.model.LlamaModel;
import dev.tract.judge.model.SequenceLogits;
import dev.tract.judge.tokenizer.JudgeTokenizer;
import dev.tract.judge.tokenizer.ScoreTokens;
import dev.tract.judge.train.ExampleEncoder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.IntConsumer;

/**
 * Scores judge examples with RAIL, CoT-RAIL or decoding, in batches. Every random draw for example i and feedback
 * k comes from a stream seeded by (seed, i, k), so results do not depend on the batch size.
 */
public final class Scorer {
    private final LlamaModel model;
    private final JudgeTokenizer tokenizer;
    private final ExampleEncoder encoder;
    private final ScoreTokens scoreTokens;
    private final Generator generator;

    public Scorer(LlamaModel model, JudgeTokenizer tokenizer, ExampleEncoder encoder) {
        this.model = model;
        this.tokenizer = tokenizer;
        this.encoder = encoder;
        this.scoreTokens = encoder.scoreTokens();
        this.generator = new Generator(model, tokenizer);
    }

    /** Feedbacks flow through generation rows in chunks of this many batches (continuous batching within). */
    public static final int CHUNK_BATCHES = 8;
    private final Generator.BatchStats stats = new Generator.BatchStats();

    /** Generation row-steps so far: computed and useful (rows still writing a feedback). */
    public Generator.BatchStats batchStats() {
        return stats;
    }

    public List<ScoredExample> score(List<JudgeExample> examples, ScoreConfig config) {
        return score(examples, config, i -> { });
    }

    /** Scores examples; {@code progress} receives the number of examples done after each batch. */
    public List<ScoredExample> score(List<JudgeExample> examples, ScoreConfig config, IntConsumer progress) {
        return score(examples, config, 0, progress);
    }

    /**
     * Scores examples that sit at {@code firstIndex} onwards in a larger set (a shard): the random draws of
     * example i are those it gets when the whole set is scored at once.
     */
    public List<ScoredExample> score(List<JudgeExample> examples, ScoreConfig config, int firstIndex,
                                     IntConsumer progress) {
        List<ScoredExample> out = new ArrayList<>(examples.size());
        int perBatch = Math.max(1, config.batchSize() / Math.max(1, config.nCot()));
        if (config.mode() != ScoreMode.RAIL && config.sampling().useCache()) {
            // generation keeps batchSize rows busy over a larger chunk: a finished feedback's row takes the next
            perBatch *= CHUNK_BATCHES;
        }
        for (int from = 0; from < examples.size(); from += perBatch) {
            int to = Math.min(examples.size(), from + perBatch);
            out.addAll(scoreBatch(examples.subList(from, to), firstIndex + from, config));
            progress.accept(to);
        }
        return out;
    }

    private static long seedOf(long seed, int example, int k) {
        return (seed * 0x9E3779B97F4A7C15L + example) * 0xBF58476D1CE4E5B9L + k;
    }

    private List<ScoredExample> scoreBatch(List<JudgeExample> batch, int offset, ScoreConfig config) {
        int n = config.mode() == ScoreMode.RAIL ? 0 : config.nCot();
        int reserve = config.sampling().maxNewTokens() + 32;
        List<long[]> prompts = new ArrayList<>();
        boolean[] cut = new boolean[batch.size()];
        for (int i = 0; i < batch.size(); i++) {
            ExampleEncoder.Prompt p = encoder.prompt(batch.get(i), n == 0 ? 32 : reserve);
            prompts.add(p.ids());
            cut[i] = p.cut();
        }
        List<List<String>> feedbacks = new ArrayList<>();
        List<List<Boolean>> wellFormed = new ArrayList<>();
        List<long[]> scoring = new ArrayList<>();
        if (n == 0) {
            for (long[] p : prompts) {
                feedbacks.add(List.of());
                wellFormed.add(List.of());
                scoring.add(concat(p, encoder.scorePrefix("")));
            }
        } else {
            List<long[]> genPrompts = new ArrayList<>();
            long[] seeds = new long[batch.size() * n];
            for (int i = 0; i < batch.size(); i++) {
                for (int k = 0; k < n; k++) {
                    genPrompts.add(prompts.get(i));
                    seeds[i * n + k] = seedOf(config.seed(), offset + i, k);
                }
            }
            List<Generation> gens = config.sampling().useCache()
                    ? generator.generateContinuous(genPrompts, config.sampling(), seeds, Math.max(1,
                            config.batchSize()), stats)
                    : generator.generateIds(genPrompts, config.sampling(), seeds);
            for (int i = 0; i < batch.size(); i++) {
                List<String> f = new ArrayList<>();
                List<Boolean> w = new ArrayList<>();
                for (int k = 0; k < n; k++) {
                    Generation g = gens.get(i * n + k);
                    String cot = Targets.cutFeedback(g.text());
                    f.add(cot);
                    w.add(Targets.wellFormed(g));
                    scoring.add(concat(prompts.get(i), encoder.scorePrefix(cot)));
                }
                feedbacks.add(f);
                wellFormed.add(w);
            }
        }
        float[][] logits = new float[scoring.size()][];
        int rows = Math.max(1, config.batchSize());
        for (int from = 0; from < scoring.size(); from += rows) {
            float[][] part = SequenceLogits.lastPosition(model, scoring.subList(from, Math.min(scoring.size(),
                    from + rows)), tokenizer.padId());
            System.arraycopy(part, 0, logits, from, part.length);
        }
        TokenChooser chooser = new TokenChooser(config.sampling());
        List<ScoredExample> out = new ArrayList<>();
        int per = Math.max(1, n);
        for (int i = 0; i < batch.size(); i++) {
            JudgeExample e = batch.get(i);
            double[] meanP = new double[5];
            List<Double> preds = new ArrayList<>();
            for (int k = 0; k < per; k++) {
                float[] row = logits[i * per + k];
                double[] p = scoreProbabilities(row);
                for (int s = 0; s < 5; s++) {
                    meanP[s] += p[s] / per;
                }
                if (config.mode() == ScoreMode.DECODE) {
                    int tok = chooser.choose(row, null, new SplittableRandom(seedOf(config.seed() + 1, offset + i, k)));
                    int s = scoreTokens.scoreOf(tok);
                    preds.add(s == 0 ? null : (double) s);
                } else {
                    preds.add(rail(p, config.renormalize()));
                }
            }
            List<Double> valid = preds.stream().filter(v -> v != null).toList();
            Double prediction = valid.isEmpty() ? null
                    : valid.stream().mapToDouble(Double::doubleValue).average().orElseThrow();
            List<Boolean> correct = SyntheticTask.of(e).isEmpty() ? null
                    : feedbacks.get(i).stream().map(f -> SyntheticTask.feedbackCorrect(e, f).orElseThrow()).toList();
            out.add(new ScoredExample(e.id(), e.gold(), prediction, preds, feedbacks.get(i), meanP,
                    wellFormed.get(i), correct, cut[i]));
        }
        return out;
    }

    /** p(1)..p(5) from the softmax over the full vocabulary of one row of logits. */
    double[] scoreProbabilities(float[] logits) {
        double max = Double.NEGATIVE_INFINITY;
        for (float l : logits) {
            max = Math.max(max, l);
        }
        double z = 0;
        for (float l : logits) {
            z += Math.exp(l - max);
        }
        double[] p = new double[5];
        for (int k = 1; k <= 5; k++) {
            p[k - 1] = Math.exp(logits[(int) scoreTokens.idOf(k)] - max) / z;
        }
        return p;
    }

    /** Σ k·p(k), or with p renormalised over the five scores. */
    static double rail(double[] p, boolean renormalize) {
        double sum = Arrays.stream(p).sum();
        double expected = 0;
        for (int k = 1; k <= 5; k++) {
            expected += k * (renormalize ? p[k - 1] / sum : p[k - 1]);
        }
        return expected;
    }

    private static long[] concat(long[] a, long[] b) {
        long[] c = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, c, a.length, b.length);
        return c;
    }
}
