package dev.tract.cli;

import dev.tract.api.TractApiApplication;
import dev.tract.worker.EmbeddedTemporal;
import dev.tract.worker.TractWorker;
import dev.tract.worker.WorkerConfig;
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

    /** Ports 0 pick free ones. */
    static DevMode start(int port, int adminPort, int temporalPort, Path runs, String token) throws Exception {
        Path root = runs.toAbsolutePath().normalize();
        EmbeddedTemporal temporal = EmbeddedTemporal.start(temporalPort);
        TractWorker worker = TractWorker.on(temporal.client(), WorkerConfig.defaults(temporal.address())
                .withWorkDir(root.resolve("work")));
        worker.start();
        Path config = ApiServerConfig.write(port, adminPort, temporal.address(), "default", List.of(token),
                root.toUri().toString(), Path.of("").toAbsolutePath().toString());
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
