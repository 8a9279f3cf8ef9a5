package dev.tract.judge.train;

import ai.djl.Device;
import ai.djl.ndarray.types.DataType;
import dev.tract.judge.data.PromptTemplate;
import dev.tract.judge.data.SyntheticTask;
import dev.tract.judge.model.Checkpoints;
import dev.tract.judge.model.LlamaModel;
import dev.tract.judge.model.LoraConfig;
import dev.tract.judge.tokenizer.JudgeTokenizer;
import dev.tract.judge.tokenizer.ScoreTokens;
import java.nio.file.Path;
import java.util.List;

/** A small training run, used by the tests in this JVM and, to prove resumption, in a fresh one. */
public final class ResumeHarness {
    private ResumeHarness() {}

    static TrainConfig config(boolean lora) {
        TrainConfig c = TrainConfig.defaults(Objective.COT_RAFT).withSteps(6).withBatch(4, 2).withLr(3e-3)
                .withSeed(21).withCheckpointEvery(2, 0);
        return lora ? c.withLora(new LoraConfig(4, 8, 0.1, List.of("q_proj", "v_proj", "down_proj"), false)) : c;
    }

    /**
     * Trains the model in {@code modelDir}, resuming from {@code checkpoints} if it holds a checkpoint, stopping
     * after {@code stopAt} steps (0 = never), and writes the resulting weights (LoRA merged) to {@code out}.
     */
    static TrainResult run(Path modelDir, Path checkpoints, boolean lora, int stopAt, Path out) throws Exception {
        try (LlamaModel model = Checkpoints.load(modelDir, Device.cpu(), DataType.FLOAT32);
             JudgeTokenizer tok = JudgeTokenizer.load(modelDir)) {
            ExampleEncoder enc = new ExampleEncoder(tok, ScoreTokens.detect(tok), PromptTemplate.COMPACT, 300);
            List<EncodedExample> data = Trainer.encode(SyntheticTask.generate(40, 9), enc, Objective.COT_RAFT);
            int[] steps = {0};
            Trainer t = new Trainer(model, tok, enc, config(lora), data, new TrainListener() {
                @Override
                public void onStep(StepMetrics m) {
                    steps[0] = m.step();
                }
            });
            TrainResult r = t.run(checkpoints, true, () -> stopAt > 0 && steps[0] >= stopAt);
            model.mergeLora();
            Checkpoints.save(model, out);
            return r;
        }
    }

    public static void main(String[] args) throws Exception {
        TrainResult r = run(Path.of(args[0]), Path.of(args[1]), Boolean.parseBoolean(args[2]),
                Integer.parseInt(args[3]), Path.of(args[4]));
        System.out.println("resumed_from=" + r.resumedFrom() + " steps=" + r.steps());
    }
}
