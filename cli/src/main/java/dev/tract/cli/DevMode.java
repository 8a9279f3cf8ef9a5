package dev.tract.cli;

import dev.tract.api.TractApiApplication;
import dev.tract.worker.EmbeddedTemporal;
import dev.tract.worker.TractWorker;
import dev.tract.worker.WorkerConfig;
import dev.tract.workflows.spec.Destinations;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.eclipse.jetty.server.NetworkConnector;
import org.eclipse.jetty.server.Server;

/** Temporal's test server, a worker and the API in this process. */
final class DevMode implements AutoCloseable {
    private final EmbeddedTemporal temporal;
    private final TractWorker worker;
    private final Server server;
    private final String token;

    private DevMode(EmbeddedTemporal temporal, TractWorker worker, Server server, String token) {
        this.temporal = temporal;
        this.worker = worker;
        this.server = server;
        this.token = token;
    }

    /** Ports 0 pick free ones; data is read from the current folder. */
    static DevMode start(int port, int adminPort, int temporalPort, Path runs, String token) throws Exception {
        return start(port, adminPort, temporalPort, runs, Path.of(""), token);
    }

    /**
     * Ports 0 pick free ones. The same rules as a production server and worker, with local defaults: specs read
     * data under {@code data}, store artifacts under {@code runs}, and track only where this process's own
     * $MLFLOW_TRACKING_URI says (or locally). The token has every scope, under the name "dev".
     */
    static DevMode start(int port, int adminPort, int temporalPort, Path runs, Path data, String token)
            throws Exception {
        Path root = runs.toAbsolutePath().normalize();
        Files.createDirectories(root);
        Path dataRoot = data.toAbsolutePath().normalize();
        EmbeddedTemporal temporal = EmbeddedTemporal.start(temporalPort);
        List<String> tracking = new java.util.ArrayList<>();
        String own = System.getenv("MLFLOW_TRACKING_URI");
        if (own != null && own.startsWith("http")) {
            tracking.add(own);
        }
        Destinations destinations = Destinations.of(List.of(dataRoot.toString()), List.of(root.toString()),
                tracking);
        TractWorker worker = TractWorker.on(temporal.client(), WorkerConfig.defaults(temporal.address())
                .withWorkDir(root.resolve("work")).withDestinations(destinations));
        worker.start();
        Path config = ApiServerConfig.write(port, adminPort, temporal.address(), "default",
                List.of("dev:admin:" + token), root.toUri().toString(), dataRoot.toString(),
                List.of(dataRoot.toString()), "127.0.0.1");
        CompletableFuture<Server> started = new CompletableFuture<>();
        new TractApiApplication(c -> temporal.client(), started::complete).run("server", config.toString());
        return new DevMode(temporal, worker, started.get(60, TimeUnit.SECONDS), token);
    }

    int port(int connector) {
        return ((NetworkConnector) server.getConnectors()[connector]).getLocalPort();
    }

    String apiUrl() {
        return "http://localhost:" + port(0);
    }

    String adminUrl() {
        return "http://localhost:" + port(1);
    }

    String temporalAddress() {
        return temporal.address();
    }

    String token() {
        return token;
    }

    @Override
    public void close() throws Exception {
        try {
            server.stop();
        } finally {
            worker.shutdown();
            temporal.close();
        }
    }
}
