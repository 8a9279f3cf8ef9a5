package dev.tract.activities;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.Device;
import ai.djl.ndarray.types.DataType;
import dev.tract.judge.data.JudgeExample;
import dev.tract.judge.data.PromptTemplate;
import dev.tract.judge.data.SyntheticTask;
import dev.tract.judge.model.Checkpoints;
import dev.tract.judge.model.LlamaModel;
import dev.tract.judge.model.ModelInit;
import dev.tract.judge.model.Preset;
import dev.tract.judge.tokenizer.JudgeTokenizer;
import dev.tract.judge.tokenizer.ScoreTokens;
import dev.tract.judge.train.ExampleEncoder;
import dev.tract.judge.train.Objective;
import dev.tract.judge.train.TrainListener;
import dev.tract.judge.train.Trainer;
import dev.tract.workflows.TractPipelineWorkflowImpl;
import dev.tract.workflows.Values;
import dev.tract.workflows.spec.PipelineSpec;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A training stage's cache key and the trainer's own config digest (which a checkpoint must match to be resumed)
 * agree: what changes one changes the other, and what leaves the key alone (checkpoint frequency) leaves the digest
 * alone. Otherwise a stage could find, under its key, checkpoints it refuses, or resume another run's.
 */
class TrainKeyTest {
    @TempDir
    Path tmp;

    static final PipelineSpec.Stage BASE = new PipelineSpec.Stage(6, 1, 0.005, 1.0, 4, 1, 600, 0.1, 0.0, 1.0, null);

    private static Values.TrainRequest request(PipelineSpec.Stage h, String objective, String template, long seed,
                                               int checkpointEvery) {
        return new Values.TrainRequest("p", "stage1", null, "m", "model-digest", List.of("d"), "data-digest",
                objective, h, template, seed, new PipelineSpec.Checkpointing(checkpointEvery, 300), "file:///r", null,
                null);
    }

    private static String key(Values.TrainRequest r) {
        return TractPipelineWorkflowImpl.trainKey(r.modelDigest(), r.dataDigest(), r.objective(), r.hyper(),
                r.template(), r.seed());
    }

    @Test
    void whatChangesTheKeyChangesTheTrainersDigestAndNothingElse() throws Exception {
        Path dir = tmp.resolve("tiny");
        ModelInit.init(Preset.TINY, dir, 0, null);
        List<JudgeExample> examples = SyntheticTask.CHECKLIST.examples(8, 1);
        Map<String, Values.TrainRequest> variants = new LinkedHashMap<>();
        variants.put("base", request(BASE, "cot-raft", "compact", 0, 2));
        variants.put("lr", request(new PipelineSpec.Stage(6, 1, 0.001, 1.0, 4, 1, 600, 0.1, 0.0, 1.0, null),
                "cot-raft", "compact", 0, 2));
        variants.put("steps", request(new PipelineSpec.Stage(7, 1, 0.005, 1.0, 4, 1, 600, 0.1, 0.0, 1.0, null),
                "cot-raft", "compact", 0, 2));
        variants.put("max_length", request(new PipelineSpec.Stage(6, 1, 0.005, 1.0, 4, 1, 620, 0.1, 0.0, 1.0,
                null), "cot-raft", "compact", 0, 2));
        variants.put("lambda", request(new PipelineSpec.Stage(6, 1, 0.005, 0.5, 4, 1, 600, 0.1, 0.0, 1.0, null),
                "cot-raft", "compact", 0, 2));
        variants.put("objective", request(BASE, "ce", "compact", 0, 2));
        variants.put("template", request(BASE, "cot-raft", "prometheus", 0, 2));
        variants.put("seed", request(BASE, "cot-raft", "compact", 1, 2));
        Map<String, String> keys = new LinkedHashMap<>();
        Map<String, String> digests = new LinkedHashMap<>();
        try (LlamaModel model = Checkpoints.load(dir, Device.cpu(), DataType.FLOAT32);
             JudgeTokenizer tok = JudgeTokenizer.load(dir)) {
            for (var e : variants.entrySet()) {
                keys.put(e.getKey(), key(e.getValue()));
                digests.put(e.getKey(), digest(model, tok, e.getValue(), examples));
            }
            Values.TrainRequest rarer = request(BASE, "cot-raft", "compact", 0, 5);
            assertThat(key(rarer)).as("checkpoint frequency is not in the key").isEqualTo(keys.get("base"));
            assertThat(digest(model, tok, rarer, examples)).as("nor in the trainer's digest")
                    .isEqualTo(digests.get("base"));
        }
        assertThat(keys.values()).as("every change makes a new key").doesNotHaveDuplicates();
        assertThat(digests.values()).as("and a new trainer digest").doesNotHaveDuplicates();
    }

    private static String digest(LlamaModel model, JudgeTokenizer tok, Values.TrainRequest r,
                                 List<JudgeExample> examples) {
        ExampleEncoder enc = new ExampleEncoder(tok, ScoreTokens.detect(tok), PromptTemplate.named(r.template()),
                r.hyper().maxLength());
        Objective objective = Objective.named(r.objective());
        return new Trainer(model, tok, enc, TrainActivity.config(r), Trainer.encode(examples, enc, objective),
                TrainListener.NONE).configDigest();
    }
}
