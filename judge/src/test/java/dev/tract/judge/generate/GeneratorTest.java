package dev.tract.judge.generate;

import static org.assertj.core.api.Assertions.assertThat;

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
}
