package dev.tract.api;

import com.codahale.metrics.health.HealthCheck;
import dev.tract.activities.artifacts.ArtifactStore;
import dev.tract.activities.artifacts.ArtifactStores;
import dev.tract.workflows.spec.Destinations;
import io.dropwizard.configuration.EnvironmentVariableSubstitutor;
import io.dropwizard.configuration.SubstitutingSourceProvider;
import io.dropwizard.core.Application;
import io.dropwizard.core.setup.Bootstrap;
import io.dropwizard.core.setup.Environment;
import io.temporal.api.workflowservice.v1.DescribeNamespaceRequest;
import io.temporal.client.WorkflowClient;
import io.temporal.client.WorkflowClientOptions;
import io.temporal.serviceclient.WorkflowServiceStubs;
import io.temporal.serviceclient.WorkflowServiceStubsOptions;
import java.util.List;
import java.util.function.Function;

/**
 * The tract API: Dropwizard service whose resources talk to Temporal. Health checks (Temporal reachable, artifact
 * store writable) and metrics are on the admin port.
 */
public class TractApiApplication extends Application<TractApiConfiguration> {
    private final Function<TractApiConfiguration, WorkflowClient> clients;
    private final java.util.function.Consumer<org.eclipse.jetty.server.Server> started;

    /** Connects to the Temporal frontend named in the configuration. */
    public TractApiApplication() {
        this(TractApiApplication::connect, s -> { });
    }

    /** Uses a given client (tests). */
    public TractApiApplication(Function<TractApiConfiguration, WorkflowClient> clients) {
        this(clients, s -> { });
    }

    /** Uses a given client and hands over the Jetty server once started (dev mode stops it itself). */
    public TractApiApplication(Function<TractApiConfiguration, WorkflowClient> clients,
                               java.util.function.Consumer<org.eclipse.jetty.server.Server> started) {
        this.clients = clients;
        this.started = started;
    }

    public static void main(String[] args) throws Exception {
        new TractApiApplication().run(args);
    }

    static WorkflowClient connect(TractApiConfiguration c) {
        // a pipeline's progress is a query that a worker answers; when none does within 3 s the API answers
        // without it (progress null) rather than keeping the caller waiting
        WorkflowServiceStubs service = WorkflowServiceStubs.newServiceStubs(WorkflowServiceStubsOptions.newBuilder()
                .setTarget(c.getTemporalAddress()).setRpcQueryTimeout(java.time.Duration.ofSeconds(3)).build());
        return WorkflowClient.newInstance(service, WorkflowClientOptions.newBuilder().setNamespace(c.getNamespace())
                .build());
    }

    @Override
    public String getName() {
        return "tract";
    }

    @Override
    public void initialize(Bootstrap<TractApiConfiguration> bootstrap) {
        // strict: a ${VAR} that is not set stops startup with its name, rather than becoming a literal token
        bootstrap.setConfigurationSourceProvider(new SubstitutingSourceProvider(
                bootstrap.getConfigurationSourceProvider(), new EnvironmentVariableSubstitutor(true)));
    }

    /** The shortest token accepted: 16 characters (a random 64-bit value in hex). */
    static final int MIN_TOKEN_LENGTH = 16;

    /**
     * Refuses to serve with no token, or one that is blank, too short to be secret, nameless, without scopes, or
     * named or valued like another; names the token by position (and name), never its secret.
     */
    static void checkTokens(List<ApiToken> tokens) {
        if (tokens.isEmpty()) {
            throw new IllegalStateException("no API tokens: set tokens in the configuration or TRACT_API_TOKENS "
                    + "(name:scopes:secret)");
        }
        java.util.Set<String> names = new java.util.HashSet<>();
        java.util.Set<String> secrets = new java.util.HashSet<>();
        for (int i = 0; i < tokens.size(); i++) {
            ApiToken t = tokens.get(i);
            String which = "API token " + (i + 1) + " of " + tokens.size()
                    + (t.name() == null || t.name().isBlank() ? "" : " ('" + t.name() + "')");
            if (t.token() == null || t.token().isBlank()) {
                throw new IllegalStateException(which + " is blank");
            }
            if (t.token().strip().length() < MIN_TOKEN_LENGTH) {
                throw new IllegalStateException(which + " is shorter than " + MIN_TOKEN_LENGTH + " characters; use "
                        + "a random one (openssl rand -hex 16)");
            }
            if (t.name() == null || !dev.tract.workflows.spec.SpecParser.SAFE_NAME.matcher(t.name()).matches()) {
                throw new IllegalStateException(which + " needs a name of letters, digits, '.', '_' or '-' (it is "
                        + "recorded as the submitter of what it submits)");
            }
            if (t.scopes().isEmpty()) {
                throw new IllegalStateException(which + " has no scopes (read, submit, cancel, admin)");
            }
            if (!names.add(t.name())) {
                throw new IllegalStateException(which + ": the name is used twice");
            }
            if (!secrets.add(t.token().strip())) {
                throw new IllegalStateException(which + " has the same secret as an earlier token");
            }
        }
    }

    @Override
    public void run(TractApiConfiguration config, Environment env) {
        checkTokens(config.allTokens());
        env.lifecycle().addServerLifecycleListener(started::accept);
        WorkflowClient client = clients.apply(config);
        PipelineService service = new PipelineService(client);
        Destinations destinations = config.destinations(System.getenv());
        env.jersey().register(new BearerTokenFilter(config.allTokens()));
        env.jersey().register(new BodySizeFilter(config.getMaxSpecBytes()));
        env.jersey().register(new ErrorMappers.InvalidSpec());
        env.jersey().register(new ErrorMappers.BadInput());
        env.jersey().register(new ErrorMappers.NotFound());
        env.jersey().register(new ErrorMappers.Grpc());
        env.jersey().register(new PipelinesResource(service, config, destinations));
        env.jersey().register(new OpenApiResource());
        env.healthChecks().register("temporal", new HealthCheck() {
            @Override
            protected Result check() {
                client.getWorkflowServiceStubs().blockingStub().describeNamespace(DescribeNamespaceRequest
                        .newBuilder().setNamespace(config.getNamespace()).build());
                return Result.healthy("namespace " + config.getNamespace() + " reachable at "
                        + config.getTemporalAddress());
            }
        });
        env.healthChecks().register("artifacts", new HealthCheck() {
            @Override
            protected Result check() throws Exception {
                // read-only: a probe hit every few seconds must neither write to the store nor create its folder
                String root = resolve(config.getDefaultArtifactRoot());
                if (root.startsWith("file:")) {
                    java.nio.file.Path dir = java.nio.file.Path.of(java.net.URI.create(root));
                    java.nio.file.Path existing = dir;
                    while (existing != null && !java.nio.file.Files.isDirectory(existing)) {
                        existing = existing.getParent();
                    }
                    return existing != null && java.nio.file.Files.isWritable(existing)
                            ? Result.healthy(root + (existing.equals(dir) ? " writable" : " can be created"))
                            : Result.unhealthy(root + " is not writable");
                }
                try (ArtifactStore store = ArtifactStores.open(root)) {
                    store.list("health/");
                    return Result.healthy(store.root() + " reachable");
                }
            }
        });
    }

    static String resolve(String root) {
        if (root.startsWith("file:") && !root.startsWith("file:/")) {
            return java.nio.file.Path.of(root.substring("file:".length())).toAbsolutePath().normalize().toUri()
                    .toString();
        }
        return root;
    }
}
