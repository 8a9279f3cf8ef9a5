package dev.tract.worker;

import dev.tract.judge.data.CanonicalJson;
import dev.tract.judge.data.SyntheticTask;
import dev.tract.workflows.spec.PipelineSpec;
import dev.tract.workflows.spec.SpecParser;
import java.io.IOException;
import java.nio.file.Path;

/** A tiny TRACT pipeline over the synthetic task, small enough to run in seconds. */
final class PipelineFixture {
    private PipelineFixture() {}

    static PipelineSpec spec(Path dir, String method, int trainN) throws IOException {
        return spec(dir, method, trainN, 6);
    }

    static PipelineSpec spec(Path dir, String method, int trainN, int stage1Steps) throws IOException {
        return spec(dir, method, trainN, stage1Steps, "");
    }

    static PipelineSpec spec(Path dir, String method, int trainN, int stage1Steps, String extra) throws IOException {
        CanonicalJson.write(dir.resolve("train.jsonl"), SyntheticTask.generate(trainN, 1));
        CanonicalJson.write(dir.resolve("test.jsonl"), SyntheticTask.generate(12, 2));
        String yaml = """
                name: tiny
                seed_model: {preset: tiny, seed: 3}
                train_data: train.jsonl
                eval_sets:
                  - {name: synthetic, data: test.jsonl}
                method: %s
                stage1: {steps: %d, lr: 0.005, batch_size: 4, max_length: 300}
                stage2: {steps: 6, lr: 0.005, batch_size: 4, max_length: 300}
                generation: {max_new_tokens: 16}
                checkpoint: {every_steps: 2}
                shard_size: 8
                artifact_root: runs
                """.formatted(method, stage1Steps) + extra;
        return SpecParser.parse(yaml, dir, "runs");
    }
}
