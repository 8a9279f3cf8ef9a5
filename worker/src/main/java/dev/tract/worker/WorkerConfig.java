package dev.tract.worker;

import dev.tract.workflows.spec.Destinations;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * How a worker connects and what it serves.
 *
 * @param taskQueues queues to poll; a queue whose name ends in "gpu" runs the model activities, any other runs the
 *     workflows and the CPU activities
 * @param maxConcurrentActivities activities run at once per queue (one model at a time is the safe default)
 * @param shutdownGrace how long a SIGTERM waits for running activities to checkpoint
 * @param destinations where activities may read data, write artifacts and send tracking calls; null: anywhere
 */
public record WorkerConfig(String temporalAddress, String namespace, List<String> taskQueues,
                           int maxConcurrentActivities, Path workDir, String device, int generationBatch,
                           Duration shutdownGrace, Destinations destinations) {

    public WorkerConfig(String temporalAddress, String namespace, List<String> taskQueues,
                        int maxConcurrentActivities, Path workDir, String device, int generationBatch,
                        Duration shutdownGrace) {
        this(temporalAddress, namespace, taskQueues, maxConcurrentActivities, workDir, device, generationBatch,
                shutdownGrace, null);
    }

    /** The destinations to enforce: those configured, or none (anywhere a spec says). */
    public Destinations effectiveDestinations() {
        return destinations != null ? destinations : Destinations.unrestricted();
    }

    public WorkerConfig withDestinations(Destinations d) {
        return new WorkerConfig(temporalAddress, namespace, taskQueues, maxConcurrentActivities, workDir, device,
                generationBatch, shutdownGrace, d);
    }
    public static final String GPU_QUEUE = "tract-gpu";
    public static final String CPU_QUEUE = "tract-cpu";

    public static WorkerConfig defaults(String address) {
        return new WorkerConfig(address, "default", List.of(GPU_QUEUE, CPU_QUEUE), 1, defaultWorkDir(),
                System.getenv().getOrDefault("TRACT_DEVICE", "auto"), 8, Duration.ofSeconds(120));
    }

    public static Path defaultWorkDir() {
        String env = System.getenv("TRACT_WORK_DIR");
        return env != null ? Path.of(env) : Path.of(System.getProperty("java.io.tmpdir"), "tract-work");
    }

    public WorkerConfig withWorkDir(Path dir) {
        return new WorkerConfig(temporalAddress, namespace, taskQueues, maxConcurrentActivities, dir, device,
                generationBatch, shutdownGrace, destinations);
    }

    public WorkerConfig withTaskQueues(List<String> queues) {
        return new WorkerConfig(temporalAddress, namespace, queues, maxConcurrentActivities, workDir, device,
                generationBatch, shutdownGrace, destinations);
    }
}
