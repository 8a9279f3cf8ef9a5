package dev.tract.api;

import dev.tract.judge.JudgeInputException;
import dev.tract.workflows.spec.SpecException;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.temporal.client.WorkflowNotFoundException;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import jakarta.ws.rs.ext.ExceptionMapper;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Turns failures into JSON answers with the right status; never a stack trace. */
final class ErrorMappers {
    private ErrorMappers() {}

    static Response json(int status, String message) {
        return Response.status(status).type(MediaType.APPLICATION_JSON)
                .entity(Map.of("code", status, "message", message)).build();
    }

    /** 422 with every invalid field of a spec. */
    static final class InvalidSpec implements ExceptionMapper<SpecException> {
        @Override
        public Response toResponse(SpecException e) {
            Map<String, Object> body = new LinkedHashMap<>();
            body.put("code", 422);
            body.put("message", "invalid pipeline spec");
            body.put("errors", e.errors().stream().map(f -> Map.of("field", f.field(), "message", f.message()))
                    .toList());
            return Response.status(422).type(MediaType.APPLICATION_JSON).entity(body).build();
        }
    }

    /** 422 for input the spec check could not see (a data file or model that is wrong). */
    static final class BadInput implements ExceptionMapper<JudgeInputException> {
        @Override
        public Response toResponse(JudgeInputException e) {
            Map<String, Object> body = new LinkedHashMap<>();
            body.put("code", 422);
            body.put("message", e.getMessage());
            body.put("errors", List.of(Map.of("field", e.field() == null ? "" : e.field(), "message",
                    e.getMessage())));
            return Response.status(422).type(MediaType.APPLICATION_JSON).entity(body).build();
        }
    }

    /** 404 for a pipeline Temporal does not know. */
    static final class NotFound implements ExceptionMapper<WorkflowNotFoundException> {
        @Override
        public Response toResponse(WorkflowNotFoundException e) {
            return json(404, "pipeline '" + e.getExecution().getWorkflowId() + "' not found");
        }
    }

    /** Temporal unreachable (503) or not knowing the pipeline (404). */
    static final class Grpc implements ExceptionMapper<StatusRuntimeException> {
        @Override
        public Response toResponse(StatusRuntimeException e) {
            if (e.getStatus().getCode() == Status.Code.NOT_FOUND) {
                return json(404, "pipeline not found");
            }
            if (e.getStatus().getCode() == Status.Code.UNAVAILABLE
                    || e.getStatus().getCode() == Status.Code.DEADLINE_EXCEEDED) {
                return json(503, "Temporal is unreachable: " + e.getStatus().getCode());
            }
            return json(502, "Temporal answered " + e.getStatus().getCode());
        }
    }
}
