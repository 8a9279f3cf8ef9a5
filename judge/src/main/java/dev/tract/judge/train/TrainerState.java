package dev.tract.judge.train;

/**
 * Where a run stands, saved in every checkpoint: optimizer steps done, the data cursor (epoch and batch within
 * it), counters, and what the run must be resumed with.
 *
 * @param configDigest digest of the training config, data and base model; a checkpoint resumes only a run with
 *     the same digest
 * @param engineThreads the engine's intra-op thread count that wrote it (0 in checkpoints that predate it): a run
 *     resumed with another count is not bit-identical to an uninterrupted one
 */
public record TrainerState(int step, int totalSteps, int epoch, int batchInEpoch, long examplesSeen,
                           long tokensSeen, long seed, String configDigest, double lastLoss, double elapsedSeconds,
                           int engineThreads) {}
