package dev.tract.workflows.spec;

import java.util.List;

/**
 * A pipeline, as submitted in YAML or JSON (snake_case keys) and validated by {@link SpecParser}. Everything but
 * the data has a default.
 *
 * @param seedModel the model both stages start from
 * @param trainData training data (file path or URI) with annotated feedback
 * @param evalSets one or more named evaluation sets
 * @param scoring "rail" (expected score; with feedback when the method writes CoTs) or "decode"
 * @param shardSize examples per CoT-generation or evaluation activity (the fan-out unit)
 * @param artifactRoot file:// or s3:// URI under which everything is stored
 */
public record PipelineSpec(String name, SeedModel seedModel, String trainData, List<EvalSet> evalSets,
                           String method, Stage stage1, Stage stage2, Generation generation, String scoring,
                           int nCot, Checkpointing checkpoint, int shardSize, String artifactRoot,
                           TaskQueues taskQueues, long seed, String template, int heartbeatTimeoutSeconds,
                           Tracking tracking) {
    /** Long activities heartbeat this often; a heartbeat timeout must be at least twice as long. */
    public static final int HEARTBEAT_INTERVAL_SECONDS = 5;

    /** A preset made from scratch, or an existing model directory (path) or URI. */
    public record SeedModel(String preset, String path, String uri, long initSeed) {
        public String describe() {
            return preset != null ? "preset:" + preset + "@" + initSeed : path != null ? path : uri;
        }
    }

    /** A named evaluation set. */
    public record EvalSet(String name, String data) {}

    /** Hyperparameters of one training stage. */
    public record Stage(int steps, double epochs, double lr, double lambda, int batchSize, int gradAccumulation,
                        int maxLength, double warmupRatio, double weightDecay, double maxGradNorm, Lora lora) {}

    /** LoRA settings; rank 0 means full fine-tuning. */
    public record Lora(int rank, double alpha, double dropout, List<String> targets) {}

    /** Sampling for CoT self-generation and CoT-RAIL scoring. */
    public record Generation(double temperature, double topP, double repetitionPenalty, int maxNewTokens) {}

    /** Checkpoint every so many steps and/or seconds (0 = off). */
    public record Checkpointing(int everySteps, double everySeconds) {}

    /**
     * Experiment tracking. {@code uri} null: MLflow at $MLFLOW_TRACKING_URI when the worker has it, else files
     * under the pipeline's artifact folder. {@code registeredModel} null: the final judge is not registered.
     */
    public record Tracking(String uri, String experiment, String registeredModel, String alias) {}

    /** Task queues: training, generation and evaluation on gpu; data preparation and reports on cpu. */
    public record TaskQueues(String gpu, String cpu) {}

    public Method methodEnum() {
        return Method.named(method);
    }
}
