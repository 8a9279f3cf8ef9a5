package dev.tract.activities;

import dev.tract.workflows.Values;
import io.temporal.client.WorkflowClient;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Sends training progress to the workflow as a signal, at most every few seconds. */
final class ProgressSignals {
    private static final Logger LOG = LoggerFactory.getLogger(ProgressSignals.class);
    private static final long INTERVAL_NANOS = 3_000_000_000L;
    private final WorkflowClient client;
    private final String workflowId;
    private long last;

    ProgressSignals(WorkflowClient client, String workflowId) {
        this.client = client;
        this.workflowId = workflowId;
    }

    void send(Values.ProgressUpdate update, boolean force) {
        long now = System.nanoTime();
        if (client == null || (!force && last != 0 && now - last < INTERVAL_NANOS)) {
            return;
        }
        last = now;
        try {
            client.newUntypedWorkflowStub(workflowId).signal("progressUpdate", update);
        } catch (RuntimeException e) {
            LOG.debug("progress signal to {} failed: {}", workflowId, e.getMessage());
        }
    }
}
