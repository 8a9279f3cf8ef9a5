package dev.tract.cli;

import dev.tract.api.TractApiApplication;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "server", mixinStandardHelpOptions = true,
        description = "Run the API server against a Temporal cluster. Settings come from a Dropwizard YAML file "
                + "(--config; ${ENV_VAR} substitution works in it) or from the flags and environment.")
final class ServerCommand implements Callable<Integer> {
    @Option(names = "--config", description = "Dropwizard YAML configuration (the other flags are then ignored)")
    Path config;

    @Option(names = "--port", defaultValue = "${env:TRACT_API_PORT:-8080}", description = "default: ${DEFAULT-VALUE}")
    int port;

    @Option(names = "--admin-port", defaultValue = "${env:TRACT_ADMIN_PORT:-8081}",
            description = "default: ${DEFAULT-VALUE}")
    int adminPort;

    @Option(names = "--temporal", defaultValue = "${env:TEMPORAL_ADDRESS:-localhost:7233}",
            description = "default: ${DEFAULT-VALUE}")
    String temporal;

    @Option(names = "--namespace", defaultValue = "${env:TEMPORAL_NAMESPACE:-default}",
            description = "default: ${DEFAULT-VALUE}")
    String namespace;

    @Option(names = "--token", description = "accepted bearer token as name:scopes:secret, scopes among read, "
            + "submit, cancel, admin joined by + (repeatable; TRACT_API_TOKENS adds more)")
    List<String> tokens = new ArrayList<>();

    @Option(names = "--data-root", description = "folder or s3:// prefix specs may read data and seed models from "
            + "(repeatable; TRACT_DATA_ROOTS adds more; default: --spec-base-dir)")
    List<String> dataRoots = new ArrayList<>();

    @Option(names = "--admin-bind", defaultValue = "${env:TRACT_ADMIN_BIND:-127.0.0.1}",
            description = "interface of the admin port, which has no authentication (default: ${DEFAULT-VALUE})")
    String adminBind;

    @Option(names = "--artifact-root", defaultValue = "${env:TRACT_ARTIFACT_ROOT:-file:./tract-runs}",
            description = "for specs that name none (default: ${DEFAULT-VALUE})")
    String artifactRoot;

    @Option(names = "--spec-base-dir", defaultValue = ".", description = "relative paths in specs are resolved here")
    Path specBaseDir;

    @Override
    public Integer call() throws Exception {
        Path file = config != null ? config : ApiServerConfig.write(port, adminPort, temporal, namespace, tokens,
                artifactRoot, specBaseDir.toAbsolutePath().toString(), dataRoots, adminBind);
        new TractApiApplication().run("server", file.toString());
        Thread.currentThread().join();
        return 0;
    }
}
