package dev.tract.cli;

import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "dev", mixinStandardHelpOptions = true,
        description = "Temporal's test server, a worker and the API on localhost in one process. Prints the API URL, "
                + "the Temporal address and a token; Ctrl-C stops everything.")
final class DevCommand implements Callable<Integer> {
    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Option(names = "--port", defaultValue = "8080", description = "API port (default: ${DEFAULT-VALUE})")
    int port;

    @Option(names = "--admin-port", defaultValue = "8081", description = "health and metrics (default: "
            + "${DEFAULT-VALUE})")
    int adminPort;

    @Option(names = "--temporal-port", defaultValue = "7233", description = "Temporal test server port; 0 = any free "
            + "(default: ${DEFAULT-VALUE})")
    int temporalPort;

    @Option(names = "--runs", defaultValue = "tract-runs", description = "artifact folder (default: ${DEFAULT-VALUE})")
    Path runs;

    @Option(names = "--data", defaultValue = ".", description = "specs may read data and seed models only under "
            + "this folder (default: the current one)")
    Path data;

    @Option(names = "--token", description = "API token (default: a random one, printed)")
    String token;

    @Override
    public Integer call() throws Exception {
        String t = token != null ? token : HexFormat.of().formatHex(new SecureRandom().generateSeed(16));
        DevMode dev = DevMode.start(port, adminPort, temporalPort, runs, data, t);
        var out = spec.commandLine().getOut();
        out.printf("tract dev is running%n  API       %s  (OpenAPI: /api/v1/openapi.json)%n"
                + "  admin     %s/healthcheck%n  Temporal  %s (namespace default)%n"
                + "  data      %s (specs may read only under it)%n  artifacts %s%n  token     %s%n%n  export TRACT_API_URL=%s TRACT_TOKEN=%s%n"
                + "  ./tract submit my-pipeline.yaml --watch%nCtrl-C stops.%n", dev.apiUrl(), dev.adminUrl(),
                dev.temporalAddress(), data.toAbsolutePath().normalize(), runs.toAbsolutePath().normalize(), t, dev.apiUrl(), t);
        out.flush();
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                dev.close();
            } catch (Exception e) {
                // stopping anyway
            }
            stopped.countDown();
        }));
        stopped.await();
        return 0;
    }
}
