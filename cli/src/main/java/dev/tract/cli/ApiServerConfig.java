package dev.tract.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** Writes a Dropwizard configuration file for the API server from command-line settings. */
final class ApiServerConfig {
    private ApiServerConfig() {}

    static Path write(int port, int adminPort, String temporal, String namespace, List<String> tokens,
                      String artifactRoot, String specBaseDir) throws IOException {
        StringBuilder y = new StringBuilder();
        y.append("temporalAddress: \"").append(temporal).append("\"\n");
        y.append("namespace: \"").append(namespace).append("\"\n");
        y.append("defaultArtifactRoot: \"").append(artifactRoot).append("\"\n");
        y.append("specBaseDir: \"").append(specBaseDir).append("\"\n");
        y.append("tokens:\n");
        for (String t : tokens) {
            y.append("  - \"").append(t).append("\"\n");
        }
        y.append("server:\n  applicationConnectors:\n    - type: http\n      port: ").append(port)
                .append("\n  adminConnectors:\n    - type: http\n      port: ").append(adminPort)
                .append("\n  requestLog:\n    appenders: []\n");
        y.append("logging:\n  level: INFO\n  loggers:\n    ai.djl: WARN\n    io.temporal: WARN\n"
                + "    org.eclipse.jetty: WARN\n  appenders:\n    - type: console\n      target: stderr\n");
        Path f = Files.createTempFile("tract-api", ".yml");
        f.toFile().deleteOnExit();
        Files.writeString(f, y);
        return f;
    }
}
