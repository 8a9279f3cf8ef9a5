package dev.tract.judge.train;

import dev.tract.judge.JudgeInputException;
import dev.tract.judge.data.PromptTemplate;
import dev.tract.judge.model.LoraConfig;

/**
 * Everything that determines a training run.
 *
 * @param steps optimizer steps; 0 means use {@code epochs}
 * @param lora null for full fine-tuning
 * @param checkpointEverySteps 0 disables step-based checkpoints
 * @param checkpointEverySeconds 0 disables time-based checkpoints
 */
public record TrainConfig(Objective objective, int steps, double epochs, double lr, double lambda, int batchSize,
                          int gradAccumulation, int maxLength, double warmupRatio, double weightDecay,
                          double maxGradNorm, boolean renormalize, LoraConfig lora, long seed,
                          int checkpointEverySteps, double checkpointEverySeconds, int keepCheckpoints,
                          PromptTemplate template) {
    public TrainConfig {
        check(steps >= 0, "steps", "must not be negative, got " + steps);
        check(steps > 0 || epochs > 0, "epochs", "give --steps or a positive --epochs");
        check(lr > 0 && lr < 1, "lr", "must be in (0, 1), got " + lr);
        check(lambda >= 0 && lambda <= 1000, "lambda", "must be in [0, 1000], got " + lambda);
        check(batchSize >= 1 && batchSize <= 4096, "batch_size", "must be in [1, 4096], got " + batchSize);
        check(gradAccumulation >= 1, "grad_accumulation", "must be at least 1, got " + gradAccumulation);
        check(maxLength >= 16 && maxLength <= 1 << 20, "max_length", "must be in [16, 1048576], got " + maxLength);
        check(warmupRatio >= 0 && warmupRatio < 1, "warmup_ratio", "must be in [0, 1), got " + warmupRatio);
        check(weightDecay >= 0 && weightDecay < 1, "weight_decay", "must be in [0, 1), got " + weightDecay);
        check(maxGradNorm > 0, "max_grad_norm", "must be positive, got " + maxGradNorm);
        check(checkpointEverySteps >= 0, "checkpoint_every_steps", "must not be negative");
        check(checkpointEverySeconds >= 0, "checkpoint_every_seconds", "must not be negative");
        check(keepCheckpoints >= 1, "keep_checkpoints", "must be at least 1");
    }

    private static void check(boolean ok, String field, String message) {
        if (!ok) {
            throw new JudgeInputException("training", field, message);
        }
    }

    /** The reference recipe scaled to small models: cosine schedule, warm-up 0.1, λ = 1, clip 1.0. */
    public static TrainConfig defaults(Objective objective) {
        return new TrainConfig(objective, 0, 1, 1e-3, 1.0, 8, 1, 512, 0.1, 0.0, 1.0, false, null, 0, 50, 0, 2,
                PromptTemplate.COMPACT);
    }

    public TrainConfig withSteps(int s) {
        return new TrainConfig(objective, s, epochs, lr, lambda, batchSize, gradAccumulation, maxLength, warmupRatio,
                weightDecay, maxGradNorm, renormalize, lora, seed, checkpointEverySteps, checkpointEverySeconds,
                keepCheckpoints, template);
    }

    public TrainConfig withCheckpointEvery(int everySteps, double everySeconds) {
        return new TrainConfig(objective, steps, epochs, lr, lambda, batchSize, gradAccumulation, maxLength,
                warmupRatio, weightDecay, maxGradNorm, renormalize, lora, seed, everySteps, everySeconds,
                keepCheckpoints, template);
    }

    public TrainConfig withLora(LoraConfig l) {
        return new TrainConfig(objective, steps, epochs, lr, lambda, batchSize, gradAccumulation, maxLength,
                warmupRatio, weightDecay, maxGradNorm, renormalize, l, seed, checkpointEverySteps,
                checkpointEverySeconds, keepCheckpoints, template);
    }

    public TrainConfig withSeed(long s) {
        return new TrainConfig(objective, steps, epochs, lr, lambda, batchSize, gradAccumulation, maxLength,
                warmupRatio, weightDecay, maxGradNorm, renormalize, lora, s, checkpointEverySteps,
                checkpointEverySeconds, keepCheckpoints, template);
    }

    public TrainConfig withLr(double l) {
        return new TrainConfig(objective, steps, epochs, l, lambda, batchSize, gradAccumulation, maxLength,
                warmupRatio, weightDecay, maxGradNorm, renormalize, lora, seed, checkpointEverySteps,
                checkpointEverySeconds, keepCheckpoints, template);
    }

    public TrainConfig withBatch(int batch, int accumulation) {
        return new TrainConfig(objective, steps, epochs, lr, lambda, batch, accumulation, maxLength, warmupRatio,
                weightDecay, maxGradNorm, renormalize, lora, seed, checkpointEverySteps, checkpointEverySeconds,
                keepCheckpoints, template);
    }
}
