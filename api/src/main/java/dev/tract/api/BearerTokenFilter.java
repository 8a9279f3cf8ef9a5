package dev.tract.api;

import jakarta.annotation.Priority;
import jakarta.ws.rs.Priorities;
import jakarta.ws.rs.container.ContainerRequestContext;
import jakarta.ws.rs.container.ContainerRequestFilter;
import jakarta.ws.rs.core.HttpHeaders;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.List;
import java.util.Map;

/**
 * Bearer-token authentication on every {@code /api} route. Tokens are compared in constant time (as digests, so
 * that not even their length leaks). Requests without a token or with a wrong one get 401.
 */
@Priority(Priorities.AUTHENTICATION)
public final class BearerTokenFilter implements ContainerRequestFilter {
    private final List<byte[]> tokenDigests;

    public BearerTokenFilter(List<String> tokens) {
        this.tokenDigests = tokens.stream().map(BearerTokenFilter::digest).toList();
    }

    private static byte[] digest(String s) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public void filter(ContainerRequestContext request) {
        String path = request.getUriInfo().getPath();
        if (!path.startsWith("api/") && !path.startsWith("/api/") && !path.equals("api")) {
            return;
        }
        String header = request.getHeaderString(HttpHeaders.AUTHORIZATION);
        if (header == null || !header.regionMatches(true, 0, "Bearer ", 0, 7)) {
            request.abortWith(unauthorized("missing bearer token"));
            return;
        }
        byte[] given = digest(header.substring(7).strip());
        boolean ok = false;
        for (byte[] t : tokenDigests) {
            ok |= MessageDigest.isEqual(t, given);
        }
        if (!ok) {
            request.abortWith(unauthorized("invalid token"));
        }
    }

    private static Response unauthorized(String message) {
        return Response.status(Response.Status.UNAUTHORIZED).header(HttpHeaders.WWW_AUTHENTICATE, "Bearer")
                .type(MediaType.APPLICATION_JSON).entity(Map.of("code", 401, "message", message)).build();
    }
}
