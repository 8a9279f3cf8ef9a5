package dev.tract.workflows;

import dev.tract.workflows.spec.PipelineSpec;
import dev.tract.workflows.spec.SpecParser;
import io.temporal.api.common.v1.WorkflowExecution;
import io.temporal.client.WorkflowClient;
import io.temporal.client.WorkflowOptions;
import io.temporal.client.WorkflowStub;
import java.security.SecureRandom;

/** Client-side helpers: start a pipeline, query its progress, wait for its result. */
public final class Pipelines {
    private static final SecureRandom RANDOM = new SecureRandom();

    private Pipelines() {}

    /** A new pipeline id: the spec's name and a random suffix. */
    public static String newId(PipelineSpec spec) {
        return spec.name() + "-" + Long.toHexString(RANDOM.nextLong() & 0xffffffffffffL);
    }

    /** Starts a pipeline; the workflow runs on the spec's CPU task queue. */
    public static WorkflowExecution start(WorkflowClient client, PipelineSpec spec, String pipelineId) {
        return start(client, spec, pipelineId, null);
    }

    /** Memo key of the name of the API token that submitted a pipeline. */
    public static final String SUBMITTER = "submitter";

    /**
     * Starts a pipeline submitted by the named API token: the name goes into the memo (so that the API can show
     * each token its own pipelines) and to the pipeline, which tags its MLflow runs with it.
     */
    public static WorkflowExecution start(WorkflowClient client, PipelineSpec spec, String pipelineId,
                                          String submitter) {
        WorkflowOptions.Builder options = WorkflowOptions.newBuilder().setWorkflowId(pipelineId)
                .setTaskQueue(spec.taskQueues().cpu());
        if (submitter != null) {
            options.setMemo(java.util.Map.of(SUBMITTER, submitter));
        }
        TractPipelineWorkflow wf = client.newWorkflowStub(TractPipelineWorkflow.class, options.build());
        return WorkflowClient.start(wf::run, new Values.PipelineInput(pipelineId, spec, SpecParser.digest(spec),
                submitter));
    }

    /**
     * The progress query, with the live step and loss of a training stage from its activity's heartbeat, any wait
     * for a worker, and the history's size (see {@link LiveStatus}).
     */
    public static Values.Progress progress(WorkflowClient client, String pipelineId) {
        Values.Progress p = client.newWorkflowStub(TractPipelineWorkflow.class, pipelineId).progress();
        return live(client, p, LiveStatus.describe(client, pipelineId));
    }

    /** A progress answer with what the server knows beyond it, and the shards done by running stage workflows. */
    public static Values.Progress live(WorkflowClient client, Values.Progress p,
                                       io.temporal.api.workflowservice.v1.DescribeWorkflowExecutionResponse d) {
        Values.Progress q = LiveStatus.enrich(p, d, client.getOptions().getDataConverter(),
                System.currentTimeMillis());
        int done = 0;
        String waiting = q.waiting();
        for (var child : d.getPendingChildrenList()) {
            try {
                int[] shards = client.newWorkflowStub(ShardsWorkflow.class, child.getWorkflowId()).shards();
                done += shards[0];
                if (waiting == null) {
                    waiting = LiveStatus.waiting(LiveStatus.describe(client, child.getWorkflowId()), q.gpuQueue(),
                            q.cpuQueue(), System.currentTimeMillis());
                }
            } catch (RuntimeException e) {
                // not started yet, or no worker answered: the count stays as the pipeline has it
            }
        }
        if (done == 0 && java.util.Objects.equals(waiting, q.waiting())) {
            return q;
        }
        return new Values.Progress(q.state(), q.stage(), q.step(), q.totalSteps(), q.loss(), q.shardsDone() + done,
                q.shardsTotal(), q.elapsedSeconds(), q.remainingSeconds(), q.resumes(), q.stagesDone(), q.gpuQueue(),
                q.cpuQueue(), waiting, q.historyEvents(), q.historyBytes(), q.largestHistoryEvents(),
                q.runsContinued());
    }

    /** Waits for the result (throws WorkflowFailedException when it failed or was cancelled). */
    public static Values.PipelineResult result(WorkflowClient client, String pipelineId) {
        return client.newUntypedWorkflowStub(pipelineId).getResult(Values.PipelineResult.class);
    }

    public static void cancel(WorkflowClient client, String pipelineId) {
        WorkflowStub stub = client.newUntypedWorkflowStub(pipelineId);
        stub.cancel();
    }
}
