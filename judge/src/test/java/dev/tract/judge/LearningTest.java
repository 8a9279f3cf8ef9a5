package dev.tract.judge;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.Device;
import ai.djl.ndarray.types.DataType;
import dev.tract.judge.data.JudgeExample;
import dev.tract.judge.data.PromptTemplate;
import dev.tract.judge.data.SyntheticTask;
import dev.tract.judge.generate.GenerationConfig;
import dev.tract.judge.metrics.Correlations;
import dev.tract.judge.model.Checkpoints;
import dev.tract.judge.model.LlamaModel;
import dev.tract.judge.model.ModelInit;
import dev.tract.judge.model.Preset;
import dev.tract.judge.score.ScoreConfig;
import dev.tract.judge.score.ScoreMode;
import dev.tract.judge.score.ScoredExample;
import dev.tract.judge.score.Scorer;
import dev.tract.judge.tokenizer.JudgeTokenizer;
import dev.tract.judge.tokenizer.ScoreTokens;
import dev.tract.judge.train.ExampleEncoder;
import dev.tract.judge.train.Objective;
import dev.tract.judge.train.TrainConfig;
import dev.tract.judge.train.TrainListener;
import dev.tract.judge.train.Trainer;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Learning happens: a {@code mini} judge trained from scratch on the built-in checklist task for about a minute of
 * CPU (stage 1 of TRACT: CoT-RAFT on annotated feedback) writes its own feedback on held-out examples and scores them
 * with CoT-RAIL. A broken loss (the wrong token shift, the score token in the cross-entropy, no RAFT term), a score
 * read at the wrong position, or a sampler that draws from the wrong distribution leaves the feedback wrong or the
 * score unread, and the correlation near zero. CPU training is deterministic for a seed, so the thresholds sit just
 * under what the run reaches (Pearson 0.856, RMSE 0.764, 56/100 feedbacks right on a 2-core x86 machine).
 */
class LearningTest {
    static final int STEPS = 400;

    @TempDir
    Path tmp;

    @Test
    void aJudgeTrainedFromScratchForAMinuteJudgesHeldOutExamplesThroughItsOwnFeedback() throws Exception {
        Path dir = tmp.resolve("mini");
        ModelInit.init(Preset.MINI, dir, 0, null);
        List<JudgeExample> train = SyntheticTask.CHECKLIST.examples(1000, 1);
        List<JudgeExample> test = SyntheticTask.CHECKLIST.examples(100, 2);
        try (LlamaModel model = Checkpoints.load(dir, Device.cpu(), DataType.FLOAT32);
             JudgeTokenizer tok = JudgeTokenizer.load(dir)) {
            ExampleEncoder enc = new ExampleEncoder(tok, ScoreTokens.detect(tok), PromptTemplate.COMPACT, 320);
            TrainConfig cfg = TrainConfig.defaults(Objective.COT_RAFT).withSteps(STEPS).withLr(0.003)
                    .withBatch(16, 1).withCheckpointEvery(0, 0);
            long start = System.nanoTime();
            new Trainer(model, tok, enc, cfg, Trainer.encode(train, enc, Objective.COT_RAFT), TrainListener.NONE)
                    .run(tmp.resolve("ck"), false, () -> false);
            double trainSeconds = (System.nanoTime() - start) / 1e9;

            ScoreConfig scoring = new ScoreConfig(ScoreMode.COT_RAIL, 1, GenerationConfig.tractSampling(96, 0),
                    false, 16, 0);
            List<ScoredExample> scored = new Scorer(model, tok, enc).score(test, scoring);
            Correlations.Report r = Correlations.compute(scored.stream().map(ScoredExample::gold).toList(),
                    scored.stream().map(ScoredExample::prediction).toList(), 0, 0);
            long correct = scored.stream().filter(s -> s.correct().get(0)).count();
            long wellFormed = scored.stream().filter(s -> s.wellFormed().get(0)).count();
            System.out.printf("learning: %d steps in %.1f s; held-out Pearson %.4f, RMSE %.3f, feedback correct "
                    + "%d/%d, well-formed %d/%d%n", STEPS, trainSeconds, r.pearson(), r.rmse(), correct,
                    scored.size(), wellFormed, scored.size());
            assertThat(wellFormed).as("feedbacks that end cleanly").isEqualTo(scored.size());
            assertThat(correct).as("feedbacks whose every check and count are right").isGreaterThanOrEqualTo(48);
            assertThat(r.pearson()).as("CoT-RAIL Pearson on held-out examples").isGreaterThan(0.83);
            assertThat(r.rmse()).isLessThan(0.85);
        }
    }
}
