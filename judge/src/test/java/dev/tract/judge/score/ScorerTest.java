package dev.tract.judge.score;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import ai.djl.Device;
import ai.djl.ndarray.types.DataType;
import dev.tract.judge.TestModels;
import dev.tract.judge.data.JudgeExample;
import dev.tract.judge.data.PromptTemplate;
import dev.tract.judge.data.SyntheticTask;
import dev.tract.judge.generate.GenerationConfig;
import dev.tract.judge.model.Checkpoints;
import dev.tract.judge.model.LlamaModel;
import dev.tract.judge.model.SequenceLogits;
import dev.tract.judge.tokenizer.JudgeTokenizer;
import dev.tract.judge.tokenizer.ScoreTokens;
import dev.tract.judge.train.ExampleEncoder;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class ScorerTest {
    static LlamaModel model;
    static JudgeTokenizer tokenizer;
    static ExampleEncoder encoder;
    static Scorer scorer;
    static final List<JudgeExample> EXAMPLES = SyntheticTask.generate(5, 8);

    @BeforeAll
    static void setUp() {
        model = Checkpoints.load(TestModels.tiny(), Device.cpu(), DataType.FLOAT32);
        tokenizer = JudgeTokenizer.load(TestModels.tiny());
        encoder = new ExampleEncoder(tokenizer, ScoreTokens.detect(tokenizer), PromptTemplate.COMPACT, 600);
        scorer = new Scorer(model, tokenizer, encoder);
    }

    @AfterAll
    static void tearDown() {
        tokenizer.close();
        model.close();
    }

    static ScoreConfig config(ScoreMode mode, int nCot, int batch) {
        return new ScoreConfig(mode, nCot, GenerationConfig.tractSampling(24, 0), false, batch, 5);
    }

    @Test
    void railIsTheExpectedScoreOverTheFullVocabulary() {
        List<ScoredExample> out = scorer.score(EXAMPLES, config(ScoreMode.RAIL, 0, 8));
        JudgeExample e = EXAMPLES.get(2);
        long[] p = encoder.encodePrompt(e, 32);
        long[] prefix = encoder.scorePrefix("");
        long[] ids = java.util.Arrays.copyOf(p, p.length + prefix.length);
        System.arraycopy(prefix, 0, ids, p.length, prefix.length);
        float[][] logits = SequenceLogits.of(model, ids);
        // the reference, written out here: a softmax over the whole vocabulary in double precision, read at the
        // ids that the tokenizer itself encodes "1".."5" to
        float[] last = logits[logits.length - 1];
        double max = Double.NEGATIVE_INFINITY;
        for (float l : last) {
            max = Math.max(max, l);
        }
        double z = 0;
        for (float l : last) {
            z += Math.exp(l - max);
        }
        double[] probs = new double[5];
        double expected = 0;
        double mass = 0;
        for (int k = 1; k <= 5; k++) {
            long[] digit = tokenizer.encode(String.valueOf(k), false);
            assertThat(digit).as("'" + k + "' is one token").hasSize(1);
            probs[k - 1] = Math.exp(last[(int) digit[0]] - max) / z;
            expected += k * probs[k - 1];
            mass += probs[k - 1];
        }
        ScoredExample s = out.get(2);
        assertThat(s.prediction()).isCloseTo(expected, within(1e-4));
        assertThat(s.probabilities()).containsExactly(probs, within(1e-5));
        assertThat(s.gold()).isEqualTo(e.gold());
        assertThat(s.feedbacks()).isEmpty();
        // renormalised over the five scores: sum k p(k) / sum p(k)
        double renormalised = 0;
        for (int k = 1; k <= 5; k++) {
            renormalised += k * probs[k - 1] / mass;
        }
        assertThat(Scorer.rail(probs, true)).isCloseTo(renormalised, within(1e-12));
        assertThat(mass).as("a random model puts little mass on the five scores").isLessThan(0.5);
        assertThat(Scorer.rail(probs, true)).isNotCloseTo(Scorer.rail(probs, false), within(0.1));
    }

    @Test
    void cotRailAveragesOverFeedbacksAndDoesNotDependOnBatchSize() {
        List<ScoredExample> a = scorer.score(EXAMPLES, config(ScoreMode.COT_RAIL, 3, 15));
        List<ScoredExample> b = scorer.score(EXAMPLES, config(ScoreMode.COT_RAIL, 3, 3));
        for (int i = 0; i < EXAMPLES.size(); i++) {
            assertThat(a.get(i).feedbacks()).hasSize(3).isEqualTo(b.get(i).feedbacks());
            assertThat(a.get(i).prediction()).isCloseTo(b.get(i).prediction(), within(1e-4));
            double mean = a.get(i).predictions().stream().mapToDouble(Double::doubleValue).average().orElseThrow();
            assertThat(a.get(i).prediction()).isCloseTo(mean, within(1e-12));
            assertThat(a.get(i).feedbacks()).allSatisfy(f -> assertThat(f).doesNotContain("So the overall")
                    .doesNotContain("[RESULT]"));
        }
        assertThat(a.get(0).feedbacks().get(0)).isNotEqualTo(a.get(0).feedbacks().get(1));
    }

    @Test
    void decodeParsesSampledScoresAndDropsTheRest() {
        List<ScoredExample> out = scorer.score(EXAMPLES, config(ScoreMode.DECODE, 1, 8));
        for (ScoredExample s : out) {
            if (s.dropped()) {
                assertThat(s.predictions()).containsOnlyNulls();
            } else {
                assertThat(s.prediction()).isIn(1.0, 2.0, 3.0, 4.0, 5.0);
            }
        }
        List<ScoredExample> again = scorer.score(EXAMPLES, config(ScoreMode.DECODE, 1, 2));
        assertThat(again).extracting(ScoredExample::predictions).isEqualTo(out.stream()
                .map(ScoredExample::predictions).toList());
        assertThat(again).extracting(ScoredExample::feedbacks).isEqualTo(out.stream()
                .map(ScoredExample::feedbacks).toList());
    }

    /**
     * A judge that always says "1" or "2" (the tiny model with the embedding rows of those two digits, tied to the
     * output layer, turned towards and away from the sum of the hidden state): decoding must parse what it samples.
     */
    @Test
    void decodeParsesTheScoresAJudgeSamples(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir)
            throws Exception {
        for (String f : new String[] {"tokenizer.json", "tokenizer_config.json", "config.json", "generation_config.json"}) {
            java.nio.file.Path from = TestModels.tiny().resolve(f);
            if (java.nio.file.Files.exists(from)) {
                java.nio.file.Files.copy(from, dir.resolve(f));
            }
        }
        java.util.Map<String, dev.tract.judge.model.SafeTensors.Tensor> tensors = new java.util.LinkedHashMap<>(
                dev.tract.judge.model.SafeTensors.read(TestModels.tiny().resolve("model.safetensors")));
        dev.tract.judge.model.SafeTensors.Tensor embed = tensors.get("model.embed_tokens.weight");
        float[] w = embed.toFloats("test", "embed");
        int hidden = (int) embed.shape()[1];
        for (int k = 1; k <= 2; k++) {
            int id = (int) tokenizer.encode(String.valueOf(k), false)[0];
            for (int j = 0; j < hidden; j++) {
                w[id * hidden + j] = k == 1 ? 5f : -5f;
            }
        }
        tensors.put("model.embed_tokens.weight", dev.tract.judge.model.SafeTensors.Tensor.ofFloats(w,
                embed.shape()));
        dev.tract.judge.model.SafeTensors.write(dir.resolve("model.safetensors"), tensors);
        try (LlamaModel digits = Checkpoints.load(dir, Device.cpu(), DataType.FLOAT32)) {
            List<ScoredExample> out = new Scorer(digits, tokenizer, encoder).score(EXAMPLES,
                    config(ScoreMode.DECODE, 1, 8));
            assertThat(out).allSatisfy(s -> {
                assertThat(s.dropped()).as("a sampled digit is parsed, not dropped").isFalse();
                assertThat(s.prediction()).isIn(1.0, 2.0);
            });
        }
    }
}
