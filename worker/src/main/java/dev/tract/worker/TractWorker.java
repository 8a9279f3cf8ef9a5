package dev.tract.worker;

import dev.tract.activities.ActivityEnvironment;
import dev.tract.activities.CpuActivitiesImpl;
import dev.tract.activities.GpuActivitiesImpl;
import dev.tract.workflows.ShardsWorkflowImpl;
import dev.tract.workflows.TractPipelineWorkflowImpl;
import io.temporal.client.WorkflowClient;
import io.temporal.client.WorkflowClientOptions;
import io.temporal.serviceclient.WorkflowServiceStubs;
import io.temporal.serviceclient.WorkflowServiceStubsOptions;
import io.temporal.worker.Worker;
import io.temporal.worker.WorkerFactory;
import io.temporal.worker.WorkerOptions;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A worker process: polls its task queues for the pipeline workflow and the activities. {@link #shutdown()} (called
 * on SIGTERM) stops polling, asks running trainers to checkpoint, waits for them within the grace period, and
 * returns; the interrupted activities give up their tasks so that another worker resumes them at once.
 */
public final class TractWorker implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(TractWorker.class);
    private final WorkerConfig config;
    private final WorkflowServiceStubs service;
    private final WorkflowClient client;
    private final WorkerFactory factory;
    private final AtomicBoolean shuttingDown = new AtomicBoolean();
    private final boolean ownsService;

    /** Connects to a Temporal service. */
    public static TractWorker connect(WorkerConfig config) {
        return connect(config, false);
    }

    /**
     * Connects to a Temporal service.
     *
     * @param allowFaultInjection honour {@code TRACT_CHAOS} (tests and `tract chaos` only); otherwise it is ignored
     */
    public static TractWorker connect(WorkerConfig config, boolean allowFaultInjection) {
        WorkflowServiceStubs service = WorkflowServiceStubs.newServiceStubs(WorkflowServiceStubsOptions.newBuilder()
                .setTarget(config.temporalAddress()).build());
        WorkflowClient client = WorkflowClient.newInstance(service, WorkflowClientOptions.newBuilder()
                .setNamespace(config.namespace()).build());
        return new TractWorker(config, service, client, true, isTestServer(service) ? 0 : WORKFLOW_CACHE,
                faults(System.getenv("TRACT_CHAOS"), allowFaultInjection));
    }

    /** A worker on an existing client (tests, dev mode). */
    public static TractWorker on(WorkflowClient client, WorkerConfig config) {
        return new TractWorker(config, null, client, false, isTestServer(client.getWorkflowServiceStubs()) ? 0
                : WORKFLOW_CACHE, ActivityEnvironment.Faults.NONE);
    }

    /** Workflow executions a worker keeps in memory between their tasks (Temporal's default). */
    static final int WORKFLOW_CACHE = 600;

    /**
     * Whether the service is Temporal's test server (the embedded one of quickstart, dev mode and the tests): it
     * answers the test service, a cluster does not.
     */
    static boolean isTestServer(WorkflowServiceStubs service) {
        try {
            io.temporal.serviceclient.TestServiceStubs test = io.temporal.serviceclient.TestServiceStubs
                    .newServiceStubs(io.temporal.serviceclient.TestServiceStubsOptions.newBuilder(service.getOptions())
                            .setChannel(service.getRawChannel()).build());
            try {
                test.blockingStub().withDeadlineAfter(5, TimeUnit.SECONDS).getCurrentTime(
                        com.google.protobuf.Empty.getDefaultInstance());
                return true;
            } finally {
                test.shutdown();
            }
        } catch (RuntimeException e) {
            return false;
        }
    }

    /**
     * The fault injection a worker honours: {@code TRACT_CHAOS} only when allowed by the worker's explicit flag, and
     * then announced loudly; set without the flag, it is ignored with a warning (a production worker never halts
     * because of a leftover variable).
     */
    static ActivityEnvironment.Faults faults(String chaos, boolean allowed) {
        if (chaos == null || chaos.isBlank()) {
            return ActivityEnvironment.Faults.NONE;
        }
        if (!allowed) {
            LOG.warn("TRACT_CHAOS is set ('{}') but this worker was not started with --allow-fault-injection: "
                    + "ignored", chaos);
            return ActivityEnvironment.Faults.NONE;
        }
        LOG.warn("FAULT INJECTION ENABLED (TRACT_CHAOS={}): this worker will halt itself on purpose; never in "
                + "production", chaos);
        return ChaosFaults.parse(chaos);
    }

    private TractWorker(WorkerConfig config, WorkflowServiceStubs service, WorkflowClient client, boolean owns,
                        int workflowCache, ActivityEnvironment.Faults faults) {
        this.config = config;
        this.service = service;
        this.client = client;
        this.ownsService = owns;
        // On a cluster, workflows stay cached between tasks (sticky queues): a signal, query or shard completion
        // costs no replay; when a worker dies its sticky queue times out after 5 s and the task moves to any worker.
        // Temporal's test server never moves a task off a dead worker's sticky queue, so with it the cache is off
        // and each task replays the history, which stays small (each run of a workflow under 5,000 events).
        this.factory = WorkerFactory.newInstance(client, io.temporal.worker.WorkerFactoryOptions.newBuilder()
                .setWorkflowCacheSize(workflowCache).build());
        LOG.info("workflow cache: {}", workflowCache == 0 ? "off (Temporal's test server)" : workflowCache
                + " executions");
        ActivityEnvironment env = new ActivityEnvironment(client, config.workDir(), config.device(), shuttingDown,
                config.generationBatch(), faults, config.effectiveDestinations());
        register(factory, config, env);
    }

    /** Registers the workflow and the activities on the configured queues of a factory. */
    public static void register(WorkerFactory factory, WorkerConfig config, ActivityEnvironment env) {
        // heartbeats reach the server at least every 5 s, so a cancellation is noticed within seconds
        WorkerOptions options = WorkerOptions.newBuilder()
                .setDefaultHeartbeatThrottleInterval(java.time.Duration.ofSeconds(2))
                .setMaxHeartbeatThrottleInterval(java.time.Duration.ofSeconds(5))
                .setMaxConcurrentActivityExecutionSize(config.maxConcurrentActivities())
                .setMaxConcurrentLocalActivityExecutionSize(config.maxConcurrentActivities()).build();
        for (String queue : config.taskQueues()) {
            Worker w = factory.newWorker(queue, options);
            if (isGpuQueue(queue)) {
                w.registerActivitiesImplementations(new GpuActivitiesImpl(env));
            } else {
                w.registerWorkflowImplementationTypes(TractPipelineWorkflowImpl.class, ShardsWorkflowImpl.class);
                w.registerActivitiesImplementations(new CpuActivitiesImpl(env));
            }
        }
    }

    static boolean isGpuQueue(String queue) {
        return queue.endsWith("gpu");
    }

    /** Whether {@link #shutdown()} has begun. */
    public boolean isStopping() {
        return shuttingDown.get();
    }

    public WorkflowClient client() {
        return client;
    }

    public void start() {
        factory.start();
        LOG.info("worker polling {} on {} (namespace {})", config.taskQueues(), config.temporalAddress(),
                config.namespace());
    }

    /** Stops polling and lets running activities checkpoint; returns the seconds it took. */
    public double shutdown() {
        long start = System.nanoTime();
        shuttingDown.set(true);
        factory.shutdown();
        factory.awaitTermination(config.shutdownGrace().toMillis(), TimeUnit.MILLISECONDS);
        double seconds = (System.nanoTime() - start) / 1e9;
        LOG.info("worker stopped in {} s", String.format("%.1f", seconds));
        return seconds;
    }

    @Override
    public void close() {
        if (!factory.isShutdown()) {
            shutdown();
        }
        if (ownsService) {
            service.shutdown();
        }
    }
}
