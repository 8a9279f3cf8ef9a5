package dev.tract.workflows;

import io.temporal.api.common.v1.Payloads;
import io.temporal.api.common.v1.WorkflowExecution;
import io.temporal.api.enums.v1.PendingActivityState;
import io.temporal.api.enums.v1.PendingWorkflowTaskState;
import io.temporal.api.workflow.v1.PendingActivityInfo;
import io.temporal.api.workflowservice.v1.DescribeWorkflowExecutionRequest;
import io.temporal.api.workflowservice.v1.DescribeWorkflowExecutionResponse;
import io.temporal.client.WorkflowClient;
import io.temporal.common.converter.DataConverter;
import java.time.Instant;
import java.util.Optional;
import java.util.Set;

/**
 * What the server knows of a pipeline beyond the workflow's own progress query, read without adding a single event
 * to its history: the running training activity's step, loss and pace from its heartbeat details, tasks that no
 * worker has picked up, and the size of the history.
 */
public final class LiveStatus {
    /** Activities on the GPU queue, by their Temporal type names. */
    static final Set<String> GPU_ACTIVITIES = Set.of("Train", "GenerateCots", "EvaluateShard");

    private LiveStatus() {}

    /**
     * How long a task may wait for a worker before the status says so: {@code TRACT_WAIT_NOTICE_SECONDS} (60 by
     * default; the JVM property {@code tract.waitNoticeSeconds} overrides it).
     */
    static long waitNoticeMillis() {
        return (long) (1000 * Double.parseDouble(System.getProperty("tract.waitNoticeSeconds",
                System.getenv().getOrDefault("TRACT_WAIT_NOTICE_SECONDS", "60"))));
    }

    public static DescribeWorkflowExecutionResponse describe(WorkflowClient client, String workflowId) {
        return client.getWorkflowServiceStubs().blockingStub().describeWorkflowExecution(
                DescribeWorkflowExecutionRequest.newBuilder().setNamespace(client.getOptions().getNamespace())
                        .setExecution(WorkflowExecution.newBuilder().setWorkflowId(workflowId)).build());
    }

    /**
     * "waiting for a worker on queue Q since T" when a task of the pipeline has waited for a worker longer than the
     * notice period (no worker polls its queue, or every worker is busy), or null.
     *
     * @param gpuQueue the spec's GPU queue (null when unknown: the queue is then named by the activity)
     */
    public static String waiting(DescribeWorkflowExecutionResponse d, String gpuQueue, String cpuQueue, long now) {
        long notice = waitNoticeMillis();
        if (d.hasPendingWorkflowTask()
                && d.getPendingWorkflowTask().getState() == PendingWorkflowTaskState.PENDING_WORKFLOW_TASK_STATE_SCHEDULED) {
            long since = millis(d.getPendingWorkflowTask().getScheduledTime());
            if (now - since > notice) {
                return "waiting for a worker on queue " + d.getExecutionConfig().getTaskQueue().getName() + " since "
                        + Instant.ofEpochMilli(since);
            }
        }
        for (PendingActivityInfo a : d.getPendingActivitiesList()) {
            if (a.getState() != PendingActivityState.PENDING_ACTIVITY_STATE_SCHEDULED) {
                continue;
            }
            long since = millis(a.getScheduledTime());
            if (now - since <= notice) {
                continue;
            }
            boolean gpu = GPU_ACTIVITIES.contains(a.getActivityType().getName());
            String queue = gpu ? gpuQueue : cpuQueue;
            return "waiting for a worker on queue " + (queue != null ? queue : gpu ? "the GPU queue" : "the CPU queue")
                    + " since " + Instant.ofEpochMilli(since) + " (" + a.getActivityType().getName()
                    + (a.getAttempt() > 1 ? ", attempt " + a.getAttempt() : "") + ")";
        }
        return null;
    }

    /** The newest heartbeat of the running training activity of a stage, if any. */
    static Optional<Values.TrainHeartbeat> training(DescribeWorkflowExecutionResponse d, String stage,
                                                    DataConverter converter) {
        for (PendingActivityInfo a : d.getPendingActivitiesList()) {
            if (!a.getActivityType().getName().equals("Train") || !a.hasHeartbeatDetails()) {
                continue;
            }
            Payloads p = a.getHeartbeatDetails();
            if (p.getPayloadsCount() == 0) {
                continue;
            }
            try {
                Values.TrainHeartbeat h = converter.fromPayloads(0, Optional.of(p), Values.TrainHeartbeat.class,
                        Values.TrainHeartbeat.class);
                if (h != null && stage.equals(h.stage())) {
                    return Optional.of(h);
                }
            } catch (RuntimeException e) {
                // details of another release: no live step figures
            }
        }
        return Optional.empty();
    }

    /** The workflow's progress with what the server adds: live step and loss, waiting, history size. */
    public static Values.Progress enrich(Values.Progress p, DescribeWorkflowExecutionResponse d,
                                         DataConverter converter, long now) {
        int step = p.step();
        int total = p.totalSteps();
        Double loss = p.loss();
        Double remaining = p.remainingSeconds();
        Optional<Values.TrainHeartbeat> h = training(d, p.stage(), converter);
        if (h.isPresent() && h.get().totalSteps() > 0) {
            step = h.get().trainedStep();
            total = h.get().totalSteps();
            loss = h.get().loss();
            remaining = h.get().meanStepSeconds() > 0 ? h.get().meanStepSeconds() * (total - step) : null;
        }
        return new Values.Progress(p.state(), p.stage(), step, total, loss, p.shardsDone(), p.shardsTotal(),
                p.elapsedSeconds(), remaining, p.resumes(), p.stagesDone(), p.gpuQueue(), p.cpuQueue(),
                waiting(d, p.gpuQueue(), p.cpuQueue(), now), d.getWorkflowExecutionInfo().getHistoryLength(),
                d.getWorkflowExecutionInfo().getHistorySizeBytes(), Math.max(p.largestHistoryEvents(),
                d.getWorkflowExecutionInfo().getHistoryLength()), p.runsContinued());
    }

    private static long millis(com.google.protobuf.Timestamp t) {
        return t.getSeconds() * 1000 + t.getNanos() / 1_000_000;
    }
}
