package dev.tract.api;

import dev.tract.activities.artifacts.ArtifactStore;
import dev.tract.activities.artifacts.ArtifactStores;
import dev.tract.workflows.spec.Destinations;
import dev.tract.workflows.spec.PipelineSpec;
import dev.tract.workflows.spec.SpecParser;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.DefaultValue;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.QueryParam;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import jakarta.ws.rs.core.Context;
import jakarta.ws.rs.core.SecurityContext;
import jakarta.ws.rs.core.UriInfo;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** /api/v1/pipelines: submit, list, inspect, cancel, and read reports. */
@Path("/api/v1/pipelines")
@Produces(MediaType.APPLICATION_JSON)
public final class PipelinesResource {
    private final PipelineService service;
    private final TractApiConfiguration config;
    private final Destinations destinations;

    public PipelinesResource(PipelineService service, TractApiConfiguration config, Destinations destinations) {
        this.service = service;
        this.config = config;
        this.destinations = destinations;
    }

    private static String caller(SecurityContext who) {
        return who.getUserPrincipal().getName();
    }

    private static Response forbidden(SecurityContext who, String scope) {
        return ErrorMappers.json(403, "token '" + caller(who) + "' lacks the " + scope + " scope");
    }

    /**
     * Throws the not-found answer when the caller may not see the pipeline: read and admin see all, a token with
     * submit only its own (another's answers as an unknown id would, so that ids cannot be probed).
     */
    private void requireVisible(SecurityContext who, String id) {
        if (who.isUserInRole("read")) {
            return;
        }
        if (!who.isUserInRole("submit") || !caller(who).equals(service.submitter(id))) {
            throw new io.temporal.client.WorkflowNotFoundException(io.temporal.api.common.v1.WorkflowExecution
                    .newBuilder().setWorkflowId(id).build(), PipelineService.WORKFLOW_TYPE, null);
        }
    }

    @POST
    @Consumes(MediaType.WILDCARD)
    public Response submit(InputStream body, @Context UriInfo uri, @Context SecurityContext who)
            throws IOException {
        if (!who.isUserInRole("submit")) {
            return forbidden(who, "submit");
        }
        byte[] bytes = readLimited(body, config.getMaxSpecBytes());
        if (bytes == null) {
            return BodySizeFilter.tooLarge(config.getMaxSpecBytes());
        }
        PipelineSpec spec = SpecParser.parse(new String(bytes, StandardCharsets.UTF_8),
                java.nio.file.Path.of(config.getSpecBaseDir()).toAbsolutePath(), config.getDefaultArtifactRoot(),
                destinations);
        List<String> warnings = service.queueWarnings(spec);
        String id = service.start(spec, caller(who));
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("id", id);
        out.put("spec_digest", SpecParser.digest(spec));
        if (!warnings.isEmpty()) {
            out.put("warnings", warnings);
        }
        return Response.created(uri.getAbsolutePathBuilder().path(id).build()).entity(out).build();
    }

    private static byte[] readLimited(InputStream in, long max) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        byte[] buf = new byte[8192];
        int n;
        while ((n = in.read(buf)) > 0) {
            out.write(buf, 0, n);
            if (out.size() > max) {
                return null;
            }
        }
        return out.toByteArray();
    }

    @GET
    public Response list(@QueryParam("state") String state, @QueryParam("page_size") @DefaultValue("20") int pageSize,
                         @QueryParam("page_token") String pageToken, @Context SecurityContext who) {
        if (!who.isUserInRole("read") && !who.isUserInRole("submit")) {
            return forbidden(who, "read");
        }
        if (pageSize < 1 || pageSize > 1000) {
            return ErrorMappers.json(400, "page_size must be in [1, 1000]");
        }
        try {
            PipelineService.Page p = service.list(state, pageSize, pageToken);
            Map<String, Object> out = new LinkedHashMap<>();
            // a token with submit but not read sees what it submitted (a page may then hold fewer than page_size)
            out.put("pipelines", who.isUserInRole("read") ? p.pipelines() : p.pipelines().stream()
                    .filter(m -> caller(who).equals(submitter(m))).toList());
            out.put("next_page_token", p.nextPageToken());
            return Response.ok(out).build();
        } catch (IllegalArgumentException e) {
            return ErrorMappers.json(400, e.getMessage());
        }
    }

    /** The submitter of a listed pipeline: from the listing, or (where the server lists no memo) described. */
    private String submitter(Map<String, Object> summary) {
        Object s = summary.get("submitter");
        if (s == null) {
            s = service.submitter((String) summary.get("id"));
            summary.put("submitter", s);
        }
        return (String) s;
    }

    @GET
    @Path("{id}")
    public Map<String, Object> get(@PathParam("id") String id, @Context SecurityContext who) {
        requireVisible(who, id);
        return service.describe(id);
    }

    @POST
    @Path("{id}/cancel")
    public Response cancel(@PathParam("id") String id, @Context SecurityContext who) {
        if (!who.isUserInRole("cancel")) {
            boolean own = who.isUserInRole("submit") && caller(who).equals(service.submitter(id));
            if (!own) {
                requireVisible(who, id); // another's pipeline answers 404 unless the token may read it
                return forbidden(who, "cancel");
            }
        }
        if (!service.cancel(id)) {
            return ErrorMappers.json(409, "pipeline '" + id + "' is not running");
        }
        return Response.accepted(Map.of("id", id, "state", "CANCEL_REQUESTED")).build();
    }

    @GET
    @Path("{id}/report")
    public Response report(@PathParam("id") String id, @Context SecurityContext who) throws IOException {
        requireVisible(who, id);
        return report(id, "report.json", MediaType.APPLICATION_JSON);
    }

    @GET
    @Path("{id}/report.html")
    @Produces(MediaType.TEXT_HTML)
    public Response reportHtml(@PathParam("id") String id, @Context SecurityContext who) throws IOException {
        requireVisible(who, id);
        return report(id, "report.html", MediaType.TEXT_HTML + ";charset=utf-8");
    }

    private Response report(String id, String file, String type) throws IOException {
        String uri = service.reportUri(id);
        if (uri == null) {
            return ErrorMappers.json(404, "pipeline '" + id + "' has no report yet");
        }
        int cut = uri.lastIndexOf("/pipelines/");
        try (ArtifactStore store = ArtifactStores.open(uri.substring(0, cut))) {
            String key = uri.substring(cut + 1, uri.lastIndexOf('/') + 1) + file;
            return store.getString(key).map(s -> Response.ok(s, type).build())
                    .orElse(ErrorMappers.json(404, "report of '" + id + "' not found in " + uri));
        }
    }
}
