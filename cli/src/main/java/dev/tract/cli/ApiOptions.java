package dev.tract.cli;

import picocli.CommandLine.Option;

/** --api and --token, shared by the commands that talk to the API. */
final class ApiOptions {
    @Option(names = "--api", defaultValue = "${env:TRACT_API_URL:-http://localhost:8080}",
            description = "API base URL (default: ${DEFAULT-VALUE}; env TRACT_API_URL)")
    String api;

    @Option(names = "--token", defaultValue = "${env:TRACT_TOKEN}",
            description = "bearer token (env TRACT_TOKEN)")
    String token;

    ApiClient client() {
        return new ApiClient(api, token);
    }
}
