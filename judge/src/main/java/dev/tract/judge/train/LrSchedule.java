package dev.tract.judge.train;

/**
 * Linear warm-up to the peak learning rate, then cosine decay to zero over the remaining steps, as transformers'
 * get_cosine_schedule_with_warmup. {@code lr(k)} is the rate used by the (k+1)-th optimizer step.
 */
public record LrSchedule(double peak, int warmupSteps, int totalSteps) {
    public double lr(int step) {
        if (step < warmupSteps) {
            return peak * step / Math.max(1, warmupSteps);
        }
        double progress = (double) (step - warmupSteps) / Math.max(1, totalSteps - warmupSteps);
        return peak * Math.max(0.0, 0.5 * (1.0 + Math.cos(Math.PI * progress)));
    }

    public static LrSchedule of(double peak, double warmupRatio, int totalSteps) {
        return new LrSchedule(peak, (int) Math.ceil(warmupRatio * totalSteps), totalSteps);
    }
}
