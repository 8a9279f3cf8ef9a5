package dev.tract.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** Writes a Dropwizard configuration file for the API server from command-line settings. */
final class ApiServerConfig {
    private ApiServerConfig() {}

    /**
     * @param tokens each name:scopes:secret
     * @param dataRoots folders and s3:// prefixes specs may read from (empty: specBaseDir)
     * @param adminBind the interface of the admin port (health checks, metrics): 127.0.0.1 unless the operator
     *     opens it
     */
    static Path write(int port, int adminPort, String temporal, String namespace, List<String> tokens,
                      String artifactRoot, String specBaseDir, List<String> dataRoots, String adminBind)
            throws IOException {
        StringBuilder y = new StringBuilder();
        y.append("temporalAddress: ").append(quoted(temporal)).append("\n");
        y.append("namespace: ").append(quoted(namespace)).append("\n");
        y.append("defaultArtifactRoot: ").append(quoted(artifactRoot)).append("\n");
        y.append("specBaseDir: ").append(quoted(specBaseDir)).append("\n");
        y.append("dataRoots:\n");
        for (String d : dataRoots) {
            y.append("  - ").append(quoted(d)).append("\n");
        }
        y.append("tokens:\n");
        for (String t : tokens) {
            y.append("  - ").append(quoted(t)).append("\n");
        }
        y.append("server:\n  applicationConnectors:\n    - type: http\n      port: ").append(port)
                .append("\n  adminConnectors:\n    - type: http\n      bindHost: ").append(quoted(adminBind))
                .append("\n      port: ").append(adminPort)
                .append("\n  requestLog:\n    appenders: []\n");
        y.append("logging:\n  level: INFO\n  loggers:\n    ai.djl: WARN\n    io.temporal: WARN\n"
                + "    org.eclipse.jetty: WARN\n  appenders:\n    - type: console\n      target: stderr\n");
        Path f = Files.createTempFile("tract-api", ".yml");
        // the file holds the tokens: readable by this user only
        Files.setPosixFilePermissions(f, java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
        f.toFile().deleteOnExit();
        Files.writeString(f, y);
        return f;
    }

    /** A YAML double-quoted scalar (JSON string syntax is valid YAML). */
    private static String quoted(String s) {
        try {
            return new com.fasterxml.jackson.databind.ObjectMapper().writeValueAsString(s);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }
}
