package dev.tract.api;

import jakarta.annotation.Priority;
import jakarta.ws.rs.Priorities;
import jakarta.ws.rs.container.ContainerRequestContext;
import jakarta.ws.rs.container.ContainerRequestFilter;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import java.util.Map;

/** Refuses bodies larger than the configured limit with 413, before reading them. */
@Priority(Priorities.AUTHENTICATION + 1)
public final class BodySizeFilter implements ContainerRequestFilter {
    private final long max;

    public BodySizeFilter(long max) {
        this.max = max;
    }

    @Override
    public void filter(ContainerRequestContext request) {
        if (request.getLength() > max) {
            request.abortWith(tooLarge(max));
        }
    }

    static Response tooLarge(long max) {
        return Response.status(Response.Status.REQUEST_ENTITY_TOO_LARGE).type(MediaType.APPLICATION_JSON)
                .entity(Map.of("code", 413, "message", "the body exceeds " + max + " bytes")).build();
    }
}
