package dev.tract.api;

import jakarta.ws.rs.GET;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;

/** The OpenAPI 3 description of the API. */
@Path("/api/v1/openapi.json")
public final class OpenApiResource {
    private final String document;

    public OpenApiResource() {
        try (InputStream in = OpenApiResource.class.getResourceAsStream("/dev/tract/api/openapi.json")) {
            document = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    @GET
    @Produces(MediaType.APPLICATION_JSON)
    public String get() {
        return document;
    }
}
