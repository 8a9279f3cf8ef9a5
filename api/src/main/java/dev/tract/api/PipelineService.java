package dev.tract.api;

import com.google.protobuf.ByteString;
import dev.tract.workflows.LiveStatus;
import dev.tract.workflows.Pipelines;
import dev.tract.workflows.TractPipelineWorkflow;
import dev.tract.workflows.Values;
import dev.tract.workflows.spec.PipelineSpec;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.temporal.api.common.v1.WorkflowExecution;
import io.temporal.api.enums.v1.TaskQueueType;
import io.temporal.api.enums.v1.WorkflowExecutionStatus;
import io.temporal.api.taskqueue.v1.TaskQueue;
import io.temporal.api.workflowservice.v1.DescribeTaskQueueRequest;
import io.temporal.api.workflowservice.v1.DescribeTaskQueueResponse;
import io.temporal.api.filter.v1.StatusFilter;
import io.temporal.api.filter.v1.WorkflowTypeFilter;
import io.temporal.api.workflow.v1.WorkflowExecutionInfo;
import io.temporal.api.workflowservice.v1.DescribeWorkflowExecutionRequest;
import io.temporal.api.workflowservice.v1.DescribeWorkflowExecutionResponse;
import io.temporal.api.workflowservice.v1.ListClosedWorkflowExecutionsRequest;
import io.temporal.api.workflowservice.v1.ListClosedWorkflowExecutionsResponse;
import io.temporal.api.workflowservice.v1.ListOpenWorkflowExecutionsRequest;
import io.temporal.api.workflowservice.v1.ListOpenWorkflowExecutionsResponse;
import io.temporal.api.workflowservice.v1.ListWorkflowExecutionsRequest;
import io.temporal.api.workflowservice.v1.ListWorkflowExecutionsResponse;
import io.temporal.client.WorkflowClient;
import io.temporal.client.WorkflowFailedException;
import io.temporal.client.WorkflowNotFoundException;
import io.temporal.client.WorkflowStub;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * What the API asks of Temporal. Listing uses a visibility query on a real cluster and, where that is not
 * implemented (Temporal's test server), lists open and closed executions instead.
 */
public final class PipelineService {
    static final String WORKFLOW_TYPE = "TractPipelineWorkflow";
    private final WorkflowClient client;
    private final AtomicBoolean visibilityQueries = new AtomicBoolean(true);

    public PipelineService(WorkflowClient client) {
        this.client = client;
    }

    public WorkflowClient client() {
        return client;
    }

    /** Starts a pipeline, recording the name of the token that submitted it. */
    public String start(PipelineSpec spec, String submitter) {
        String id = Pipelines.newId(spec);
        Pipelines.start(client, spec, id, submitter);
        return id;
    }

    /** The name of the token that submitted a pipeline (its memo), or null. */
    String submitterOf(WorkflowExecutionInfo info) {
        var payload = info.getMemo().getFieldsMap().get(Pipelines.SUBMITTER);
        if (payload == null) {
            return null;
        }
        return client.getOptions().getDataConverter().fromPayload(payload, String.class, String.class);
    }

    /** The submitter of a pipeline; throws WorkflowNotFoundException for an unknown id. */
    public String submitter(String id) {
        return submitterOf(execution(id));
    }

    /**
     * The spec's task queues that no worker polls now, as warnings (a mistyped queue, or no worker of a kind yet):
     * the pipeline is accepted and waits, and its status says for what. Empty where the server cannot tell.
     */
    public List<String> queueWarnings(PipelineSpec spec) {
        List<String> out = new ArrayList<>();
        check(out, "task_queues.cpu", spec.taskQueues().cpu(), TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW);
        check(out, "task_queues.gpu", spec.taskQueues().gpu(), TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY);
        return out;
    }

    private void check(List<String> out, String field, String queue, TaskQueueType type) {
        try {
            DescribeTaskQueueResponse r = client.getWorkflowServiceStubs().blockingStub()
                    .withDeadlineAfter(3, java.util.concurrent.TimeUnit.SECONDS).describeTaskQueue(
                            DescribeTaskQueueRequest.newBuilder().setNamespace(client.getOptions().getNamespace())
                                    .setTaskQueue(TaskQueue.newBuilder().setName(queue)).setTaskQueueType(type)
                                    .build());
            if (r.getPollersCount() == 0) {
                out.add(field + ": no worker polls task queue '" + queue + "' now; the pipeline waits until one "
                        + "does (check the name against the workers' --task-queues)");
            }
        } catch (StatusRuntimeException e) {
            // the server cannot tell (Temporal's test server does not list pollers)
        }
    }

    /** A page of pipelines, newest first. */
    public record Page(List<Map<String, Object>> pipelines, String nextPageToken) {}

    public Page list(String state, int pageSize, String pageToken) {
        WorkflowExecutionStatus status = state == null ? null : toStatus(state);
        if (visibilityQueries.get()) {
            try {
                String query = "WorkflowType = '" + WORKFLOW_TYPE + "'"
                        + (status == null ? "" : " AND ExecutionStatus = '" + statusName(status) + "'");
                ListWorkflowExecutionsRequest.Builder req = ListWorkflowExecutionsRequest.newBuilder()
                        .setNamespace(client.getOptions().getNamespace()).setPageSize(pageSize).setQuery(query);
                if (pageToken != null) {
                    req.setNextPageToken(ByteString.copyFrom(Base64.getUrlDecoder().decode(pageToken)));
                }
                ListWorkflowExecutionsResponse r = client.getWorkflowServiceStubs().blockingStub()
                        .listWorkflowExecutions(req.build());
                return new Page(r.getExecutionsList().stream().map(this::summary).toList(),
                        token(r.getNextPageToken()));
            } catch (StatusRuntimeException e) {
                if (e.getStatus().getCode() != Status.Code.UNIMPLEMENTED
                        && e.getStatus().getCode() != Status.Code.INVALID_ARGUMENT) {
                    throw e;
                }
                visibilityQueries.set(false);
            }
        }
        return listOpenAndClosed(status, pageSize, pageToken);
    }

    /** Page tokens of the fallback: "open:<token>" walks open executions, then "closed:<token>" closed ones. */
    private Page listOpenAndClosed(WorkflowExecutionStatus status, int pageSize, String pageToken) {
        String phase = "open";
        ByteString token = ByteString.EMPTY;
        if (pageToken != null) {
            String decoded = new String(Base64.getUrlDecoder().decode(pageToken), java.nio.charset.StandardCharsets
                    .ISO_8859_1);
            phase = decoded.substring(0, decoded.indexOf(':'));
            token = ByteString.copyFrom(decoded.substring(decoded.indexOf(':') + 1),
                    java.nio.charset.StandardCharsets.ISO_8859_1);
        }
        boolean wantOpen = status == null || status == WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_RUNNING;
        String ns = client.getOptions().getNamespace();
        WorkflowTypeFilter type = WorkflowTypeFilter.newBuilder().setName(WORKFLOW_TYPE).build();
        List<Map<String, Object>> out = new ArrayList<>();
        if (phase.equals("open") && wantOpen) {
            ListOpenWorkflowExecutionsResponse r = client.getWorkflowServiceStubs().blockingStub()
                    .listOpenWorkflowExecutions(ListOpenWorkflowExecutionsRequest.newBuilder().setNamespace(ns)
                            .setMaximumPageSize(pageSize).setNextPageToken(token).setTypeFilter(type).build());
            r.getExecutionsList().forEach(e -> out.add(summary(e)));
            if (!r.getNextPageToken().isEmpty()) {
                return new Page(out, encode("open", r.getNextPageToken()));
            }
            if (status != null) {
                return new Page(out, null);
            }
            phase = "closed";
            token = ByteString.EMPTY;
            if (out.size() >= pageSize) {
                return new Page(out, encode("closed", token));
            }
        }
        if (status == WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_RUNNING) {
            return new Page(out, null);
        }
        ListClosedWorkflowExecutionsRequest.Builder req = ListClosedWorkflowExecutionsRequest.newBuilder()
                .setNamespace(ns).setMaximumPageSize(pageSize - out.size()).setNextPageToken(token);
        if (status != null) {
            req.setStatusFilter(StatusFilter.newBuilder().setStatus(status).build());
        } else {
            req.setTypeFilter(type);
        }
        ListClosedWorkflowExecutionsResponse r = client.getWorkflowServiceStubs().blockingStub()
                .listClosedWorkflowExecutions(req.build());
        r.getExecutionsList().stream().filter(e -> e.getType().getName().equals(WORKFLOW_TYPE))
                .forEach(e -> out.add(summary(e)));
        return new Page(out, r.getNextPageToken().isEmpty() ? null : encode("closed", r.getNextPageToken()));
    }

    private static String encode(String phase, ByteString token) {
        byte[] p = (phase + ":").getBytes(java.nio.charset.StandardCharsets.ISO_8859_1);
        byte[] all = new byte[p.length + token.size()];
        System.arraycopy(p, 0, all, 0, p.length);
        token.copyTo(all, p.length);
        return Base64.getUrlEncoder().withoutPadding().encodeToString(all);
    }

    private static String token(ByteString t) {
        return t.isEmpty() ? null : Base64.getUrlEncoder().withoutPadding().encodeToString(t.toByteArray());
    }

    Map<String, Object> summary(WorkflowExecutionInfo e) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", e.getExecution().getWorkflowId());
        m.put("state", stateOf(e.getStatus()));
        m.put("submitter", submitterOf(e));
        m.put("start_time", Instant.ofEpochSecond(e.getStartTime().getSeconds(), e.getStartTime().getNanos())
                .toString());
        if (e.hasCloseTime()) {
            m.put("close_time", Instant.ofEpochSecond(e.getCloseTime().getSeconds(), e.getCloseTime().getNanos())
                    .toString());
        }
        return m;
    }

    static String stateOf(WorkflowExecutionStatus s) {
        return statusName(s);
    }

    private static String statusName(WorkflowExecutionStatus s) {
        String n = s.name().substring("WORKFLOW_EXECUTION_STATUS_".length());
        return switch (n) {
            case "CANCELED" -> "CANCELLED";
            case "CONTINUED_AS_NEW" -> "CONTINUED";
            default -> n;
        };
    }

    static WorkflowExecutionStatus toStatus(String state) {
        String s = state.toUpperCase(Locale.ROOT);
        if (s.equals("CANCELLED")) {
            s = "CANCELED";
        }
        try {
            return WorkflowExecutionStatus.valueOf("WORKFLOW_EXECUTION_STATUS_" + s);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("state must be one of RUNNING, COMPLETED, FAILED, CANCELLED, "
                    + "TERMINATED, TIMED_OUT");
        }
    }

    /**
     * The execution's record from the server alone (no query, so no worker is needed); throws
     * WorkflowNotFoundException for an unknown id or another workflow type.
     */
    private WorkflowExecutionInfo execution(String id) {
        return described(id).getWorkflowExecutionInfo();
    }

    private DescribeWorkflowExecutionResponse described(String id) {
        DescribeWorkflowExecutionResponse d;
        try {
            d = client.getWorkflowServiceStubs().blockingStub().describeWorkflowExecution(
                    DescribeWorkflowExecutionRequest.newBuilder().setNamespace(client.getOptions().getNamespace())
                            .setExecution(WorkflowExecution.newBuilder().setWorkflowId(id)).build());
        } catch (StatusRuntimeException e) {
            if (e.getStatus().getCode() == Status.Code.NOT_FOUND) {
                throw new WorkflowNotFoundException(WorkflowExecution.newBuilder().setWorkflowId(id).build(),
                        WORKFLOW_TYPE, e);
            }
            throw e;
        }
        WorkflowExecutionInfo info = d.getWorkflowExecutionInfo();
        if (!info.getType().getName().equals(WORKFLOW_TYPE)) {
            throw new WorkflowNotFoundException(info.getExecution(), WORKFLOW_TYPE, null);
        }
        return d;
    }

    /** Everything known of one pipeline; throws WorkflowNotFoundException for an unknown id. */
    public Map<String, Object> describe(String id) {
        DescribeWorkflowExecutionResponse d = described(id);
        WorkflowExecutionInfo info = d.getWorkflowExecutionInfo();
        Map<String, Object> m = summary(info);
        WorkflowStub stub = client.newUntypedWorkflowStub(id);
        long now = System.currentTimeMillis();
        Values.Progress progress = null;
        try {
            progress = Pipelines.live(client, client.newWorkflowStub(TractPipelineWorkflow.class, id).progress(), d);
        } catch (RuntimeException e) {
            // no worker answered the query: the server's record below still says what it can
        }
        m.put("progress", progress);
        if (info.getStatus() == WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_RUNNING) {
            m.put("waiting", progress != null ? progress.waiting() : LiveStatus.waiting(d, null, null, now));
        }
        m.put("history_events", info.getHistoryLength());
        m.put("history_bytes", info.getHistorySizeBytes());
        if (info.getStatus() == WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_COMPLETED) {
            Values.PipelineResult r = stub.getResult(Values.PipelineResult.class);
            m.put("result", r);
            m.put("report_uri", r.reportUri());
            m.put("tracking", r.trackingUrls());
        } else if (info.getStatus() != WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_RUNNING) {
            try {
                stub.getResult(Values.PipelineResult.class);
            } catch (WorkflowFailedException e) {
                Throwable cause = e.getCause() == null ? e : e.getCause();
                m.put("failure", cause.getMessage());
            }
        }
        return m;
    }

    /** Requests cancellation; false when the pipeline is no longer running. */
    public boolean cancel(String id) {
        // the server's record only: cancelling must not wait for a worker to answer a progress query
        if (execution(id).getStatus() != WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_RUNNING) {
            return false;
        }
        client.newUntypedWorkflowStub(id).cancel();
        return true;
    }

    /** The report URI of a finished pipeline, or null when it has none yet. */
    public String reportUri(String id) {
        Map<String, Object> d = describe(id);
        if (d.get("report_uri") != null) {
            return (String) d.get("report_uri");
        }
        return null;
    }
}
