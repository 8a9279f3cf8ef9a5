package dev.tract.judge.train;

import java.nio.file.Path;

/**
 * How a run ended.
 *
 * @param stopped true when a stop request ended it early (after a final checkpoint)
 * @param resumedFrom the step it resumed from, 0 for a fresh run
 */
public record TrainResult(int steps, int totalSteps, boolean stopped, int resumedFrom, double finalLoss,
                          double seconds, long tokens, double tokensPerSecond, Path lastCheckpoint) {}
