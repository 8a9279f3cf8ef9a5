package dev.tract.judge.generate;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.Device;
import ai.djl.ndarray.types.DataType;
import dev.tract.judge.TestModels;
import dev.tract.judge.model.Checkpoints;
import dev.tract.judge.model.LlamaModel;
import dev.tract.judge.tokenizer.JudgeTokenizer;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class GeneratorTest {
    static LlamaModel model;
    static JudgeTokenizer tokenizer;
    static Generator generator;

    @BeforeAll
    static void load() {
        model = Checkpoints.load(TestModels.tiny(), Device.cpu(), DataType.FLOAT32);
        tokenizer = JudgeTokenizer.load(TestModels.tiny());
        generator = new Generator(model, tokenizer);
    }

    @AfterAll
    static void close() {
        tokenizer.close();
        model.close();
    }

    private static final List<String> PROMPTS = List.of("The response is", "Score 3: The response gets about half",
            "A");

    @Test
    void greedyWithCacheEqualsGreedyWithout() {
        GenerationConfig greedy = GenerationConfig.greedy(40);
        List<Generation> cached = generator.generate(PROMPTS, greedy);
        List<Generation> uncached = generator.generate(PROMPTS, greedy.withCache(false));
        for (int i = 0; i < PROMPTS.size(); i++) {
            assertThat(cached.get(i).tokenIds()).isEqualTo(uncached.get(i).tokenIds());
            assertThat(cached.get(i).newTokens()).isGreaterThan(0);
        }
    }

    @Test
    void batchedPromptsOfDifferentLengthsMatchOneByOne() {
        GenerationConfig greedy = GenerationConfig.greedy(24);
        List<Generation> batched = generator.generate(PROMPTS, greedy);
        for (int i = 0; i < PROMPTS.size(); i++) {
            Generation alone = generator.generate(List.of(PROMPTS.get(i)), greedy).get(0);
            assertThat(batched.get(i).tokenIds()).as("prompt %d", i).isEqualTo(alone.tokenIds());
        }
    }

    @Test
    void sameSeedSameTextOtherSeedOtherText() {
        GenerationConfig sampling = GenerationConfig.tractSampling(48, 11).withStopStrings(List.of());
        String a = generator.generate(PROMPTS, sampling).get(0).text();
        String b = generator.generate(PROMPTS, sampling).get(0).text();
        String c = generator.generate(PROMPTS, sampling.withSeed(12)).get(0).text();
        assertThat(a).isEqualTo(b);
        assertThat(c).isNotEqualTo(a);
    }

    @Test
    void stopStringEndsGeneration() {
        GenerationConfig free = GenerationConfig.tractSampling(64, 3).withStopStrings(List.of());
        Generation unconstrained = generator.generate(List.of("The"), free).get(0);
        assertThat(unconstrained.newTokens()).isEqualTo(64);
        // pick a stop string that the unconstrained sample produces part-way through
        String text = unconstrained.text();
        String stop = text.substring(text.length() / 3, text.length() / 3 + 3);
        Generation stopped = generator.generate(List.of("The"), free.withStopStrings(List.of(stop))).get(0);
        assertThat(stopped.finishReason()).isEqualTo("stop");
        assertThat(stopped.text()).endsWith(stop);
        assertThat(stopped.newTokens()).isLessThan(64);
        assertThat(text).startsWith(stopped.text());
    }

    @Test
    void liveArraysDoNotGrowWithGeneratedTokens() {
        int before = model.manager().getManagedArrays().size();
        generator.generate(PROMPTS, GenerationConfig.greedy(8));
        int afterShort = model.manager().getManagedArrays().size();
        generator.generate(PROMPTS, GenerationConfig.greedy(200));
        int afterLong = model.manager().getManagedArrays().size();
        assertThat(afterShort).isEqualTo(before);
        assertThat(afterLong).isEqualTo(before);
    }

    /**
     * Continuous batching gives every prompt exactly the text it gets alone with its seed: sampled, with varied
     * prompt lengths, stop strings that end some sequences early, and more prompts than rows, so that waiting
     * prompts join rows as they free up.
     */
    @Test
    void continuousBatchingGivesExactlyTheOutputsOfOneAtATime() {
        GenerationConfig sampling = GenerationConfig.tractSampling(20, 3).withStopStrings(List.of("e"));
        java.util.List<long[]> prompts = new java.util.ArrayList<>();
        String[] texts = {"The response is", "Score 3: The response gets about half of it right", "A",
            "Feedback:", "List four cities above 2 million people", "ok", "So the overall score is",
            "The reference answer names four"};
        for (String t : texts) {
            prompts.add(tokenizer.encode(t, true));
        }
        long[] seeds = new long[prompts.size()];
        for (int i = 0; i < seeds.length; i++) {
            seeds[i] = 1000 + 7L * i;
        }
        Generator.BatchStats stats = new Generator.BatchStats();
        List<Generation> continuous = generator.generateContinuous(prompts, sampling, seeds, 3, stats);
        java.util.Set<String> reasons = new java.util.HashSet<>();
        for (int i = 0; i < prompts.size(); i++) {
            Generation alone = generator.generateIds(List.of(prompts.get(i)), sampling, new long[] {seeds[i]})
                    .get(0);
            assertThat(continuous.get(i).tokenIds()).as("prompt %d", i).isEqualTo(alone.tokenIds());
            assertThat(continuous.get(i).text()).isEqualTo(alone.text());
            assertThat(continuous.get(i).finishReason()).isEqualTo(alone.finishReason());
            reasons.add(alone.finishReason());
        }
        assertThat(reasons).as("some sequences end early, some run to the limit").hasSizeGreaterThan(1);
        assertThat(stats.useful()).isLessThanOrEqualTo(stats.computed());

        // with a budget per prompt, static batches compute on for finished rows; continuous batching does not
        int[] budgets = {3, 20, 5, 17, 2, 11, 20, 4};
        GenerationConfig long20 = GenerationConfig.tractSampling(20, 3).withStopStrings(List.of());
        Generator.BatchStats flowing = new Generator.BatchStats();
        List<Generation> budgeted = generator.generateContinuous(prompts, long20, seeds, 3, flowing, budgets);
        Generator.BatchStats fixed = new Generator.BatchStats();
        for (int from = 0; from < prompts.size(); from += 3) {
            int to = Math.min(prompts.size(), from + 3);
            generator.generateIds(prompts.subList(from, to), long20, java.util.Arrays.copyOfRange(seeds, from, to),
                    java.util.Arrays.copyOfRange(budgets, from, to), fixed);
        }
        for (int i = 0; i < prompts.size(); i++) {
            Generation alone = generator.generateIds(List.of(prompts.get(i)), long20, new long[] {seeds[i]},
                    new int[] {budgets[i]}, null).get(0);
            assertThat(budgeted.get(i).tokenIds()).as("prompt %d", i).isEqualTo(alone.tokenIds());
            assertThat(alone.newTokens()).isLessThanOrEqualTo(budgets[i]);
        }
        assertThat(flowing.usefulShare()).as("continuous").isGreaterThan(fixed.usefulShare());
        // a free row is refilled at once while prompts wait and dropped once none does: no row computes in vain
        assertThat(flowing.useful()).as("useful rows").isEqualTo(flowing.computed());
    }

    /**
     * A long stream of prompts through few rows: the cache's room runs out many times, the slots of ended sequences
     * are dropped while the others decode on, attention reads only live rows' slots, and every text is still the
     * one its prompt gets alone; no row ever computes after its sequence ended.
     */
    @Test
    void aLongStreamDropsEndedSlotsAndKeepsEveryText() {
        GenerationConfig sampling = GenerationConfig.tractSampling(6, 9).withStopStrings(List.of());
        String[] texts = {"The response is", "Score 3: The response gets about half of it right", "A",
            "Feedback:", "List four cities above 2 million people", "ok"};
        java.util.List<long[]> prompts = new java.util.ArrayList<>();
        int[] budgets = new int[30];
        long[] seeds = new long[budgets.length];
        for (int i = 0; i < budgets.length; i++) {
            prompts.add(tokenizer.encode(texts[i % texts.length], true));
            budgets[i] = 1 + (i * 5) % 6;
            seeds[i] = 300 + 11L * i;
        }
        Generator fresh = new Generator(model, tokenizer);
        Generator.BatchStats stats = new Generator.BatchStats();
        List<Generation> out = fresh.generateContinuous(prompts, sampling, seeds, 2, stats, budgets);
        for (int i = 0; i < prompts.size(); i++) {
            Generation alone = generator.generateIds(List.of(prompts.get(i)), sampling, new long[] {seeds[i]},
                    new int[] {budgets[i]}, null).get(0);
            assertThat(out.get(i).tokenIds()).as("prompt %d", i).isEqualTo(alone.tokenIds());
        }
        assertThat(fresh.compactions()).as("times the cache dropped ended slots").isGreaterThan(1);
        assertThat(stats.useful()).isEqualTo(stats.computed());
    }

    /**
     * Decode streams on their own threads share the waiting prompts: every text is still the one its prompt gets
     * alone, a prompt's samples stay on one stream (one prefill each), and no row computes after its sequence ended.
     */
    @Test
    void decodeStreamsSideBySideKeepEveryText() {
        GenerationConfig sampling = GenerationConfig.tractSampling(10, 4).withStopStrings(List.of());
        String[] texts = {"The response is", "Score 3: The response gets about half of it right", "A",
            "Feedback:", "List four cities above 2 million people", "ok", "So the overall score is"};
        java.util.List<long[]> prompts = new java.util.ArrayList<>();
        for (String t : texts) {
            long[] ids = tokenizer.encode(t, true);
            for (int k = 0; k < 3; k++) {
                prompts.add(ids);
            }
        }
        int[] budgets = new int[prompts.size()];
        long[] seeds = new long[prompts.size()];
        for (int i = 0; i < budgets.length; i++) {
            budgets[i] = 1 + (i * 7) % 10;
            seeds[i] = 500 + 13L * i;
        }
        Generator streams = new Generator(model, tokenizer).withStreams(2);
        Generator.BatchStats stats = new Generator.BatchStats();
        List<Generation> out = streams.generateContinuous(prompts, sampling, seeds, 4, stats, budgets);
        for (int i = 0; i < prompts.size(); i++) {
            Generation alone = generator.generateIds(List.of(prompts.get(i)), sampling, new long[] {seeds[i]},
                    new int[] {budgets[i]}, null).get(0);
            assertThat(out.get(i).tokenIds()).as("prompt %d", i).isEqualTo(alone.tokenIds());
        }
        assertThat(streams.prefills()).as("one prefill per prompt at most").isLessThanOrEqualTo(texts.length);
        assertThat(stats.useful()).isEqualTo(stats.computed());
        assertThat(stats.useful()).isEqualTo(java.util.Arrays.stream(out.toArray(new Generation[0]))
                .mapToLong(Generation::newTokens).sum());
    }

    /** A stream that fails fails the whole call with its error, instead of a hang or a partial list. */
    @Test
    void aFailingStreamFailsTheCall() {
        GenerationConfig sampling = GenerationConfig.tractSampling(6, 4).withStopStrings(List.of());
        java.util.List<long[]> prompts = new java.util.ArrayList<>();
        for (int i = 0; i < 12; i++) {
            prompts.add(tokenizer.encode("Feedback: item " + i, true));
        }
        prompts.set(7, new long[] {1, model.config().vocabSize() + 5L}); // no such token
        long[] seeds = new long[prompts.size()];
        Generator streams = new Generator(model, tokenizer).withStreams(2);
        assertThatThrownBy(() -> streams.generateContinuous(prompts, sampling, seeds, 4, null))
                .isInstanceOf(RuntimeException.class);
    }

    /** n_cot samples of one prompt share its prefilled keys and values, and each keeps the text it gets alone. */
    @Test
    void samplesOfOnePromptSharePrefilledKeysAndValues() {
        GenerationConfig sampling = GenerationConfig.tractSampling(12, 5).withStopStrings(List.of());
        java.util.List<long[]> prompts = new java.util.ArrayList<>();
        String[] texts = {"The response is", "Score 3: The response gets about half of it right", "Feedback:"};
        for (String t : texts) {
            long[] ids = tokenizer.encode(t, true);
            for (int k = 0; k < 3; k++) {
                prompts.add(ids);
            }
        }
        long[] seeds = new long[prompts.size()];
        for (int i = 0; i < seeds.length; i++) {
            seeds[i] = 77 + i;
        }
        int[] budgets = {2, 9, 4, 12, 3, 6, 1, 8, 5};
        Generator fresh = new Generator(model, tokenizer);
        List<Generation> out = fresh.generateContinuous(prompts, sampling, seeds, 2, null, budgets);
        for (int i = 0; i < prompts.size(); i++) {
            Generation alone = generator.generateIds(List.of(prompts.get(i)), sampling, new long[] {seeds[i]},
                    new int[] {budgets[i]}, null).get(0);
            assertThat(out.get(i).tokenIds()).as("sample %d", i).isEqualTo(alone.tokenIds());
        }
        // 7 samples joined a row after the first 2; they came from 3 prompts, so at most 3 prefills
        assertThat(fresh.prefills()).isBetween(1L, 3L);
    }
}
