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
        TractPipelineWorkflow wf = client.newWorkflowStub(TractPipelineWorkflow.class, WorkflowOptions.newBuilder()
                .setWorkflowId(pipelineId).setTaskQueue(spec.taskQueues().cpu()).build());
        return WorkflowClient.start(wf::run, new Values.PipelineInput(pipelineId, spec, SpecParser.digest(spec)));
    }

    /**
     * The progress query, with the live step and loss of a training stage from its activity's heartbeat, any wait
     * for a worker, and the history's size (see {@link LiveStatus}).
     */
    public static Values.Progress progress(WorkflowClient client, String pipelineId) {
        Values.Progress p = client.newWorkflowStub(TractPipelineWorkflow.class, pipelineId).progress();
        return LiveStatus.enrich(p, LiveStatus.describe(client, pipelineId), client.getOptions().getDataConverter(),
                System.currentTimeMillis());
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
