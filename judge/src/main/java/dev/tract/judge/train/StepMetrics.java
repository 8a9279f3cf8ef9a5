package dev.tract.judge.train;

/**
 * What one optimizer step reports. ceLoss and raftLoss are NaN when the objective has none.
 *
 * @param step 1-based number of the step just taken
 */
public record StepMetrics(int step, int totalSteps, double loss, double ceLoss, double raftLoss, double lr,
                          double gradNorm, double tokensPerSecond, double seconds) {}
