package dev.tract.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tract.activities.tracking.FakeMlflowServer;
import dev.tract.workflows.Values;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Tokens and S3/MLflow credentials never appear in logs, MLflow params, reports, artifacts or API responses. */
class SecretsTest {
    static final String MLFLOW_TOKEN = "SECRET-mlflow-4f6a1c";
    static final String AWS_SECRET = "SECRET-aws-9b2e77";
    static final String AWS_ID = "SECRET-awsid-71c0";
    static final String API_TOKEN = "SECRET-api-3d58e2";
    static final List<String> SECRETS = List.of(MLFLOW_TOKEN, AWS_SECRET, AWS_ID, API_TOKEN);

    @TempDir
    Path tmp;

    static void assertNoSecret(String where, String text) {
        for (String s : SECRETS) {
            assertThat(text).as(where + " must not contain " + s).doesNotContain(s);
        }
    }

    @Test
    void aTrackedPipelineOnAWorkerWithCredentialsLeaksNone() throws Exception {
        try (FakeMlflowServer mlflow = new FakeMlflowServer(); ChaosHarness h = new ChaosHarness(tmp, false)) {
            mlflow.requireAuthorization("Bearer " + MLFLOW_TOKEN);
            String id = h.start(h.spec("runs", "tracking: {uri: \"" + mlflow.uri() + "\", registered_model: judge}\n"),
                    "secrets");
            h.startWorker(Map.of("MLFLOW_TRACKING_TOKEN", MLFLOW_TOKEN, "AWS_SECRET_ACCESS_KEY", AWS_SECRET,
                    "AWS_ACCESS_KEY_ID", AWS_ID, "TRACT_LOG_LEVEL", "DEBUG"), "tract-gpu,tract-cpu");
            Values.PipelineResult r = h.result(id);
            assertThat(r.state()).isEqualTo("COMPLETED");
            assertThat(mlflow.violations()).isEmpty();
            assertThat(mlflow.runs()).isNotEmpty();
            assertNoSecret("workflow history", h.client().fetchHistory(id).toJson(false));
            for (FakeMlflowServer.Run run : mlflow.runs().values()) {
                assertNoSecret("MLflow params", run.params.toString());
                assertNoSecret("MLflow tags", run.tags.toString());
            }
            for (byte[] artifact : mlflow.artifacts().values()) {
                assertNoSecret("MLflow artifact", new String(artifact, StandardCharsets.ISO_8859_1));
            }
            try (Stream<Path> files = Files.walk(tmp)) {
                for (Path f : files.filter(Files::isRegularFile).toList()) {
                    assertNoSecret(f.toString(), Files.readString(f, StandardCharsets.ISO_8859_1));
                }
            }
        }
    }

    @Test
    void theApiNeverEchoesItsToken() throws Exception {
        try (DevMode dev = DevMode.start(0, 0, 0, tmp.resolve("runs"), API_TOKEN)) {
            HttpClient http = HttpClient.newHttpClient();
            for (String[] c : new String[][] {{"/api/v1/pipelines", API_TOKEN}, {"/api/v1/pipelines/none", API_TOKEN},
                {"/api/v1/pipelines", "wrong-" + API_TOKEN}, {"/api/v1/openapi.json", API_TOKEN}}) {
                HttpResponse<String> res = http.send(HttpRequest.newBuilder(URI.create(dev.apiUrl() + c[0]))
                        .header("Authorization", "Bearer " + c[1]).build(), HttpResponse.BodyHandlers.ofString());
                assertNoSecret("response to " + c[0], res.body() + res.headers().map());
            }
            HttpResponse<String> health = http.send(HttpRequest.newBuilder(URI.create(dev.adminUrl()
                    + "/healthcheck")).build(), HttpResponse.BodyHandlers.ofString());
            assertNoSecret("health checks", health.body());
            CliRun bad = CliRun.of("list", "--api", dev.apiUrl(), "--token", "wrong-" + API_TOKEN);
            assertNoSecret("CLI error", bad.err() + bad.out());
        }
    }

    static String read(Path p) throws IOException {
        return Files.readString(p, StandardCharsets.ISO_8859_1);
    }
}
