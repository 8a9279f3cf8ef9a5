package dev.tract.judge.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import ai.djl.training.GradientCollector;
import dev.tract.judge.TestModels;
import dev.tract.judge.data.JudgeExample;
import dev.tract.judge.data.PromptTemplate;
import dev.tract.judge.data.SyntheticTask;
import dev.tract.judge.model.Checkpoints;
import dev.tract.judge.model.LlamaModel;
import dev.tract.judge.model.SequenceLogits;
import dev.tract.judge.runtime.GradMode;
import dev.tract.judge.tokenizer.JudgeTokenizer;
import dev.tract.judge.tokenizer.ScoreTokens;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class LossesTest {
    static LlamaModel model;
    static JudgeTokenizer tokenizer;
    static ScoreTokens scores;
    static List<EncodedExample> encoded;

    @BeforeAll
    static void setUp() {
        model = Checkpoints.load(TestModels.tiny(), Device.cpu(), DataType.FLOAT32);
        tokenizer = JudgeTokenizer.load(TestModels.tiny());
        scores = ScoreTokens.detect(tokenizer);
        ExampleEncoder enc = new ExampleEncoder(tokenizer, scores, PromptTemplate.COMPACT, 400);
        List<JudgeExample> ex = SyntheticTask.generate(3, 5);
        encoded = List.of(enc.encode(ex.get(0), ex.get(0).feedback(), ex.get(0).goldScore()),
                enc.encode(ex.get(1), "", ex.get(1).goldScore()), enc.encode(ex.get(2), ex.get(2).feedback(), 3));
        assertThat(encoded.get(0).length()).isNotEqualTo(encoded.get(1).length());
        // the positions the reference below relies on, checked through the tokenizer alone: the target is the
        // feedback, the score suffix and the score, then end-of-sequence; the score token is the gold digit
        int[] gold = {ex.get(0).goldScore(), ex.get(1).goldScore(), 3};
        for (int i = 0; i < encoded.size(); i++) {
            EncodedExample e = encoded.get(i);
            long[] target = java.util.Arrays.copyOfRange(e.ids(), e.promptLength(), e.length());
            assertThat(tokenizer.decode(target, true).strip()).endsWith("So the overall score is " + gold[i]);
            assertThat(tokenizer.decode(new long[] {e.ids()[e.scoreIndex()]}, true)).isEqualTo(String.valueOf(gold[i]));
            assertThat(e.scoreIndex()).isEqualTo(e.length() - 2);
            assertThat(tokenizer.decode(java.util.Arrays.copyOfRange(e.ids(), 0, e.promptLength()), true))
                    .as("the prompt holds the instruction and no part of the target")
                    .contains(ex.get(i).instruction()).doesNotContain("So the overall score is");
        }
    }

    @AfterAll
    static void tearDown() {
        tokenizer.close();
        model.close();
    }

    /** CE and RAFT of the batch in double precision, from each example's own (unpadded) logits. */
    static double[] expected(Objective objective, boolean renormalize) {
        double ceSum = 0;
        int ceCount = 0;
        double raftSum = 0;
        for (EncodedExample e : encoded) {
            float[][] logits = SequenceLogits.of(model, e.ids());
            for (int t = e.promptLength(); t < e.length(); t++) {
                if (t == e.scoreIndex() && !objective.crossEntropyOnScore()) {
                    continue;
                }
                ceSum -= logSoftmax(logits[t - 1], (int) e.ids()[t]);
                ceCount++;
            }
            float[] row = logits[e.scoreIndex() - 1];
            double[] p = new double[5];
            double sum = 0;
            for (int k = 1; k <= 5; k++) {
                p[k - 1] = Math.exp(logSoftmax(row, (int) scores.idOf(k)));
                sum += p[k - 1];
            }
            double yhat = 0;
            for (int k = 1; k <= 5; k++) {
                yhat += k * (renormalize ? p[k - 1] / sum : p[k - 1]);
            }
            raftSum += (e.gold() - yhat) * (e.gold() - yhat);
        }
        return new double[] {ceSum / ceCount, raftSum / encoded.size()};
    }

    static double logSoftmax(float[] row, int index) {
        double max = Double.NEGATIVE_INFINITY;
        for (float v : row) {
            max = Math.max(max, v);
        }
        double z = 0;
        for (float v : row) {
            z += Math.exp(v - max);
        }
        return row[index] - max - Math.log(z);
    }

    static double[] computed(Objective objective, double lambda, boolean renormalize) {
        Losses losses = new Losses(model, objective, lambda, renormalize, scores);
        try (GradMode g = GradMode.disabled(); NDScope scope = new NDScope()) {
            scope.suppressNotUsedWarning();
            Losses.Parts p = losses.compute(TrainBatch.of(encoded, tokenizer.padId(), objective), false);
            return new double[] {p.total().getFloat(), p.ce() == null ? Double.NaN : p.ce().getFloat(),
                p.raft() == null ? Double.NaN : p.raft().getFloat()};
        }
    }

    @Test
    void cotRaftIsCrossEntropyWithoutTheScoreTokenPlusLambdaRaft() {
        double[] want = expected(Objective.COT_RAFT, false);
        double[] got = computed(Objective.COT_RAFT, 0.5, false);
        assertThat(got[1]).isCloseTo(want[0], within(1e-5));
        assertThat(got[2]).isCloseTo(want[1], within(1e-5));
        assertThat(got[0]).isCloseTo(want[0] + 0.5 * want[1], within(1e-5));
    }

    @Test
    void crossEntropyObjectivesIncludeTheScoreToken() {
        double[] want = expected(Objective.CE, false);
        double[] got = computed(Objective.CE, 1.0, false);
        assertThat(got[2]).isNaN();
        assertThat(got[0]).isCloseTo(want[0], within(1e-5));
        int ce = TrainBatch.of(encoded, tokenizer.padId(), Objective.CE).ceRows().length;
        int cotRaft = TrainBatch.of(encoded, tokenizer.padId(), Objective.COT_RAFT).ceRows().length;
        assertThat(ce).as("one more target token per example: the score").isEqualTo(cotRaft + encoded.size());
    }

    @Test
    void raftAloneAndRenormalisedRaft() {
        assertThat(computed(Objective.RAFT, 1.0, false)[0]).isCloseTo(expected(Objective.RAFT, false)[1],
                within(1e-5));
        double[] renorm = expected(Objective.RAFT, true);
        assertThat(computed(Objective.RAFT, 1.0, true)[0]).isCloseTo(renorm[1], within(1e-5));
        assertThat(renorm[1]).isNotCloseTo(expected(Objective.RAFT, false)[1], within(1e-3));
    }

    @Test
    void raftOfAKnownDistributionIsClosedForm() {
        // logits putting p = (0.1, 0.2, 0.3, 0.4, 0) on the scores and the rest of the mass nowhere
        int vocab = model.config().vocabSize();
        float[] row = new float[vocab];
        java.util.Arrays.fill(row, -1e4f);
        double[] p = {0.1, 0.2, 0.3, 0.4};
        for (int k = 1; k <= 4; k++) {
            row[(int) scores.idOf(k)] = (float) Math.log(p[k - 1]);
        }
        Losses losses = new Losses(model, Objective.RAFT, 1, false, scores);
        try (NDScope scope = new NDScope()) {
            scope.suppressNotUsedWarning();
            NDArray logits = model.manager().create(row).reshape(1, vocab);
            assertThat(losses.expectedScore(logits).getFloat()).isCloseTo(3.0f, within(1e-5f));
        }
    }

    @Test
    void gradientsMatchFiniteDifferences() {
        Losses losses = new Losses(model, Objective.COT_RAFT, 1.0, false, scores);
        TrainBatch batch = TrainBatch.of(encoded, tokenizer.padId(), Objective.COT_RAFT);
        NDArray w = model.parameters().get("model.norm.weight");
        w.setRequiresGradient(true);
        float[] grad;
        try (NDScope scope = new NDScope(); GradientCollector gc = Engine.getInstance().newGradientCollector()) {
            scope.suppressNotUsedWarning();
            gc.backward(losses.compute(batch, false).total());
            grad = w.getGradient().toFloatArray();
        }
        w.setRequiresGradient(false);
        float[] base = w.toFloatArray();
        double h = 1e-2;
        for (int i : new int[] {0, 7, 31}) {
            double[] f = new double[2];
            for (int s = 0; s < 2; s++) {
                float[] v = base.clone();
                v[i] += (float) (s == 0 ? h : -h);
                w.set(v);
                try (GradMode g = GradMode.disabled(); NDScope scope = new NDScope()) {
                    scope.suppressNotUsedWarning();
                    f[s] = losses.compute(batch, false).total().getFloat();
                }
            }
            w.set(base);
            double fd = (f[0] - f[1]) / (2 * h);
            assertThat((double) grad[i]).as("d loss / d norm[%d]", i)
                    .isCloseTo(fd, within(2e-3 + 0.03 * Math.abs(fd)));
        }
    }
}
