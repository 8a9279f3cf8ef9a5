package dev.tract.api;

import jakarta.annotation.Priority;
import jakarta.ws.rs.Priorities;
import jakarta.ws.rs.container.ContainerRequestContext;
import jakarta.ws.rs.container.ContainerRequestFilter;
import jakarta.ws.rs.core.HttpHeaders;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import jakarta.ws.rs.core.SecurityContext;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.Principal;
import java.util.List;
import java.util.Map;

/**
 * Bearer-token authentication on every {@code /api} route. Tokens are compared in constant time (as digests, so
 * that not even their length leaks). Requests without a token or with a wrong one get 401; the token found becomes
 * the request's {@link SecurityContext}: its name is the principal and its scopes are the roles.
 */
@Priority(Priorities.AUTHENTICATION)
public final class BearerTokenFilter implements ContainerRequestFilter {
    private final List<ApiToken> tokens;
    private final List<byte[]> tokenDigests;

    public BearerTokenFilter(List<ApiToken> tokens) {
        this.tokens = List.copyOf(tokens);
        this.tokenDigests = tokens.stream().map(t -> digest(t.token().strip())).toList();
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
        ApiToken found = null;
        for (int i = 0; i < tokenDigests.size(); i++) {
            if (MessageDigest.isEqual(tokenDigests.get(i), given) && found == null) {
                found = tokens.get(i);
            }
        }
        if (found == null) {
            request.abortWith(unauthorized("invalid token"));
            return;
        }
        ApiToken caller = found;
        boolean secure = request.getSecurityContext() != null && request.getSecurityContext().isSecure();
        request.setSecurityContext(new SecurityContext() {
            @Override
            public Principal getUserPrincipal() {
                return caller::name;
            }

            @Override
            public boolean isUserInRole(String role) {
                return caller.has(ApiToken.Scope.parse(role));
            }

            @Override
            public boolean isSecure() {
                return secure;
            }

            @Override
            public String getAuthenticationScheme() {
                return "Bearer";
            }
        });
    }

    private static Response unauthorized(String message) {
        return Response.status(Response.Status.UNAUTHORIZED).header(HttpHeaders.WWW_AUTHENTICATE, "Bearer")
                .type(MediaType.APPLICATION_JSON).entity(Map.of("code", 401, "message", message)).build();
    }
}
