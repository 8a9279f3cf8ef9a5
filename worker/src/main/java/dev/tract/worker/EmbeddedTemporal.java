package dev.tract.worker;

import io.temporal.client.WorkflowClient;
import io.temporal.client.WorkflowClientOptions;
import io.temporal.serviceclient.WorkflowServiceStubs;
import io.temporal.serviceclient.WorkflowServiceStubsOptions;
import io.temporal.testserver.TestServer;
import java.io.IOException;
import java.net.ServerSocket;

/**
 * Temporal's own test server on a free local port, in real time (no time skipping), with a client. State lives in
 * memory only: this is for quickstart, dev mode and tests, not production.
 */
public final class EmbeddedTemporal implements AutoCloseable {
    private final TestServer.PortBoundTestServer server;
    private final WorkflowServiceStubs service;
    private final WorkflowClient client;
    private final int port;

    private EmbeddedTemporal(int port) {
        this.port = port;
        this.server = TestServer.createPortBoundServer(port);
        this.service = WorkflowServiceStubs.newServiceStubs(WorkflowServiceStubsOptions.newBuilder()
                .setTarget(address()).build());
        this.client = WorkflowClient.newInstance(service, WorkflowClientOptions.newBuilder()
                .setNamespace("default").build());
    }

    /** Starts the server on a free port (or the given one when positive). */
    public static EmbeddedTemporal start(int port) throws IOException {
        return new EmbeddedTemporal(port > 0 ? port : freePort());
    }

    public static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    public String address() {
        return "localhost:" + port;
    }

    public WorkflowClient client() {
        return client;
    }

    @Override
    public void close() {
        service.shutdown();
        server.close();
    }
}
