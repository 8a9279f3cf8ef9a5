package dev.tract.api;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpServer;
import dev.tract.activities.ActivityEnvironment;
import dev.tract.judge.data.CanonicalJson;
import dev.tract.worker.TractWorker;
import dev.tract.worker.WorkerConfig;
import dev.tract.judge.data.SyntheticTask;
import io.dropwizard.core.server.DefaultServerFactory;
import io.dropwizard.jetty.HttpConnectorFactory;
import io.dropwizard.testing.DropwizardTestSupport;
import io.dropwizard.testing.junit5.DropwizardAppExtension;
import io.dropwizard.testing.junit5.DropwizardExtensionsSupport;
import io.temporal.testing.TestWorkflowEnvironment;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A submitted spec is untrusted: hostile specs and requests through the real HTTP API, each refused with a 4xx that
 * names the field, with nothing started, stored or contacted; and tokens that see and cancel only what their scopes
 * allow.
 */
@ExtendWith(DropwizardExtensionsSupport.class)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class HostileSpecsTest {
    static final String ADMIN = "ops-0123456789abcdef";
    static final String READER = "reader-0123456789abcdef";
    static final String ALICE = "alice-0123456789abcdef";
    static final String BOB = "bob-0123456789abcdef01";
    static final String CANCELLER = "canceller-0123456789ab";
    static final ObjectMapper JSON = new ObjectMapper();
    static final Path DIR;
    static final Path DATA;
    static final Path OUTSIDE;
    static final Path RUNS;
    static final TestWorkflowEnvironment TEMPORAL = TestWorkflowEnvironment.newInstance();
    static final HttpServer CANARY;
    static final AtomicInteger CANARY_HITS = new AtomicInteger();
    static final String ALLOWED_MLFLOW = "http://mlflow.internal:5000";
    static final HttpClient HTTP = HttpClient.newHttpClient();

    static {
        try {
            DIR = Files.createTempDirectory("tract-hostile").toRealPath();
            DATA = Files.createDirectories(DIR.resolve("data"));
            OUTSIDE = Files.createDirectories(DIR.resolve("outside"));
            RUNS = DIR.resolve("runs");
            CanonicalJson.write(DATA.resolve("train.jsonl"), SyntheticTask.generate(12, 1));
            CanonicalJson.write(DATA.resolve("test.jsonl"), SyntheticTask.generate(8, 2));
            // a file in a judge data format outside the data root, and two links that lead to it
            CanonicalJson.write(OUTSIDE.resolve("secret.jsonl"), SyntheticTask.generate(4, 3));
            Files.createSymbolicLink(DATA.resolve("link.jsonl"), OUTSIDE.resolve("secret.jsonl"));
            Files.createSymbolicLink(DATA.resolve("escape"), OUTSIDE);
            Files.createDirectories(OUTSIDE.resolve("model"));
            CANARY = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
            CANARY.createContext("/", exchange -> {
                CANARY_HITS.incrementAndGet();
                exchange.sendResponseHeaders(200, -1);
                exchange.close();
            });
            CANARY.start();
        } catch (IOException e) {
            throw new ExceptionInInitializerError(e);
        }
        // a worker for the workflows and CPU activities, with the same destinations as the API, answers progress
        // queries; no GPU worker, so accepted pipelines wait before training
        WorkerConfig wc = WorkerConfig.defaults("test").withWorkDir(DIR.resolve("work"))
                .withTaskQueues(List.of(WorkerConfig.CPU_QUEUE));
        TractWorker.register(TEMPORAL.getWorkerFactory(), wc, new ActivityEnvironment(TEMPORAL.getWorkflowClient(),
                wc.workDir(), "cpu", new AtomicBoolean(), 8, ActivityEnvironment.Faults.NONE)
                .withDestinations(config().destinations(java.util.Map.of())));
        TEMPORAL.start();
    }

    static TractApiConfiguration config() {
        TractApiConfiguration c = new TractApiConfiguration();
        c.setTokens(List.of(ApiToken.parse("ops:admin:" + ADMIN), ApiToken.parse("dashboard:read:" + READER),
                ApiToken.parse("alice:submit:" + ALICE), ApiToken.parse("bob:submit:" + BOB),
                ApiToken.parse("oncall:cancel:" + CANCELLER)));
        c.setMaxSpecBytes(16_384);
        c.setSpecBaseDir(DATA.toString());
        c.setDataRoots(List.of(DATA.toString(), "s3://datasets/judges"));
        c.setArtifactRoots(List.of("s3://tract-artifacts/runs"));
        c.setTrackingUris(List.of(ALLOWED_MLFLOW));
        c.setDefaultArtifactRoot(RUNS.toUri().toString());
        DefaultServerFactory server = (DefaultServerFactory) c.getServerFactory();
        ((HttpConnectorFactory) server.getApplicationConnectors().get(0)).setPort(0);
        ((HttpConnectorFactory) server.getAdminConnectors().get(0)).setPort(0);
        return c;
    }

    static final DropwizardAppExtension<TractApiConfiguration> APP = new DropwizardAppExtension<>(
            new DropwizardTestSupport<>(TractApiApplication.class, config()) {
                @Override
                public io.dropwizard.core.Application<TractApiConfiguration> newApplication() {
                    return new TractApiApplication(c -> TEMPORAL.getWorkflowClient());
                }
            });

    @AfterAll
    static void stop() {
        CANARY.stop(0);
        TEMPORAL.close();
    }

    /** A valid spec (relative paths inside the data root), to which each case adds or changes one thing. */
    static final String GOOD = """
            name: hostile
            seed_model: {preset: tiny}
            train_data: train.jsonl
            eval_sets: [{name: synthetic, data: test.jsonl}]
            method: stage1-only
            stage1: {steps: 2, batch_size: 4, max_length: 300}
            generation: {max_new_tokens: 12}
            """;

    static String with(String key, String value) {
        StringBuilder out = new StringBuilder();
        boolean replaced = false;
        for (String line : GOOD.split("\n")) {
            if (line.startsWith(key + ":")) {
                out.append(key).append(": ").append(value).append('\n');
                replaced = true;
            } else {
                out.append(line).append('\n');
            }
        }
        if (!replaced) {
            out.append(key).append(": ").append(value).append('\n');
        }
        return out.toString();
    }

    record Answer(int status, JsonNode body, String text) {}

    static Answer request(String method, String path, String token, String body) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://localhost:" + APP.getLocalPort() + path));
        if (token != null) {
            b.header("Authorization", "Bearer " + token);
        }
        b.method(method, body == null ? HttpRequest.BodyPublishers.noBody()
                : HttpRequest.BodyPublishers.ofString(body));
        if (body != null) {
            b.header("Content-Type", "application/yaml");
        }
        HttpResponse<String> r = HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
        JsonNode json;
        try {
            json = JSON.readTree(r.body());
        } catch (IOException e) {
            json = JSON.createObjectNode();
        }
        return new Answer(r.statusCode(), json, r.body());
    }

    static Answer submit(String token, String spec) throws Exception {
        return request("POST", "/api/v1/pipelines", token, spec);
    }

    /** Every file under the temporary folder, with its size: what "nothing stored or changed" is checked against. */
    static Set<String> files() throws IOException {
        Set<String> out = new TreeSet<>();
        try (Stream<Path> walk = Files.walk(DIR)) {
            walk.forEach(p -> out.add(DIR.relativize(p) + ":" + (Files.isRegularFile(p) ? p.toFile().length() : -1)));
        }
        return out;
    }

    static List<String> pipelineIds() throws Exception {
        return request("GET", "/api/v1/pipelines?page_size=1000", ADMIN, null).body().get("pipelines")
                .findValuesAsText("id");
    }

    record Hostile(String what, String spec, String field, int status) {}

    static List<Hostile> hostileSpecs() {
        String canary = "http://127.0.0.1:" + CANARY.getAddress().getPort();
        String deep = "a: " + "[".repeat(5_000) + "]".repeat(5_000) + "\n";
        StringBuilder laughs = new StringBuilder("a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n");
        for (char c = 'b'; c <= 'j'; c++) {
            char p = (char) (c - 1);
            laughs.append(c).append(": &").append(c).append(" [*").append(p).append(",*").append(p).append(",*")
                    .append(p).append(",*").append(p).append(",*").append(p).append(",*").append(p).append(",*")
                    .append(p).append(",*").append(p).append("]\n");
        }
        List<Hostile> h = new ArrayList<>();
        h.add(new Hostile("absolute system file", with("train_data", "/etc/passwd"), "train_data", 422));
        h.add(new Hostile("file: URI of a system file", with("train_data", "file:///etc/shadow"), "train_data", 422));
        h.add(new Hostile("relative .. escape", with("train_data", "../outside/secret.jsonl"), "train_data", 422));
        h.add(new Hostile("deep .. escape", with("train_data", "a/b/../../../outside/secret.jsonl"), "train_data",
                422));
        h.add(new Hostile("symlinked file", with("train_data", "link.jsonl"), "train_data", 422));
        h.add(new Hostile("symlinked folder", with("train_data", "escape/secret.jsonl"), "train_data", 422));
        h.add(new Hostile("file: URI with a host", with("train_data", "file://evil.example/etc/passwd"), "train_data",
                422));
        h.add(new Hostile("foreign bucket", with("train_data", "s3://foreign/train.jsonl"), "train_data", 422));
        h.add(new Hostile("allowed bucket, other prefix", with("train_data", "s3://datasets/judges-old/x.jsonl"),
                "train_data", 422));
        h.add(new Hostile("allowed prefix, .. in key", with("train_data", "s3://datasets/judges/../private/x.jsonl"),
                "train_data", 422));
        h.add(new Hostile("credentials in an S3 URI", with("train_data", "s3://AKIAX:hunter2@datasets/judges/a"),
                "train_data", 422));
        h.add(new Hostile("path with a NUL byte", with("train_data", "\"train\\0.jsonl\""), "train_data", 422));
        h.add(new Hostile("eval set outside", with("eval_sets", "[{name: s, data: /etc/passwd}]"), "eval_sets[0].data",
                422));
        h.add(new Hostile("seed model folder outside", with("seed_model", "{path: /root}"), "seed_model.path", 422));
        h.add(new Hostile("seed model as a bare path", with("seed_model", "/root"), "seed_model", 422));
        h.add(new Hostile("seed model file: URI", with("seed_model", "{uri: \"file://" + OUTSIDE.resolve("model")
                + "\"}"), "seed_model.uri", 422));
        h.add(new Hostile("seed model in a foreign bucket", with("seed_model", "{uri: s3://foreign/model}"),
                "seed_model.uri", 422));
        h.add(new Hostile("artifact root in a system folder", with("artifact_root", "/etc/tract-owned"),
                "artifact_root", 422));
        h.add(new Hostile("artifact root beside the allowed one", with("artifact_root", DIR.resolve("elsewhere")
                .toUri().toString()), "artifact_root", 422));
        h.add(new Hostile("artifact root escaping by ..", with("artifact_root", RUNS + "/../elsewhere"),
                "artifact_root", 422));
        h.add(new Hostile("artifact root in a foreign bucket", with("artifact_root", "s3://foreign/runs"),
                "artifact_root", 422));
        h.add(new Hostile("tracking at a server of the submitter's", with("tracking", "{uri: \"" + canary + "\"}"),
                "tracking.uri", 422));
        h.add(new Hostile("tracking URI with credentials", with("tracking", "{uri: \"http://user:hunter2@"
                + canary.substring(7) + "\"}"), "tracking.uri", 422));
        h.add(new Hostile("allowed host as user info", with("tracking", "{uri: \"http://mlflow.internal:5000@"
                + canary.substring(7) + "\"}"), "tracking.uri", 422));
        h.add(new Hostile("allowed host on another port", with("tracking", "{uri: \"http://mlflow.internal:5001\"}"),
                "tracking.uri", 422));
        h.add(new Hostile("tracking over file:", with("tracking", "{uri: \"file:///etc\"}"), "tracking.uri", 422));
        h.add(new Hostile("deeply nested document", deep, "(document)", 422));
        h.add(new Hostile("alias bomb", laughs.toString(), "a", 422));
        h.add(new Hostile("oversized document", GOOD + "# " + "x".repeat(20_000) + "\n", null, 413));
        return h;
    }

    @Test
    @Order(1)
    void hostileSpecsAreRefusedNamingTheFieldWithNothingStartedStoredOrContacted() throws Exception {
        Set<String> before = files();
        List<String> pipelines = pipelineIds();
        List<Hostile> cases = hostileSpecs();
        assertThat(cases).hasSizeGreaterThanOrEqualTo(25);
        for (Hostile c : cases) {
            Answer a = submit(ADMIN, c.spec());
            assertThat(a.status()).as(c.what() + ": " + a.text()).isEqualTo(c.status());
            if (c.field() != null) {
                assertThat(a.body().get("errors").findValuesAsText("field")).as(c.what() + ": " + a.text())
                        .contains(c.field());
            }
            // nothing of the disk in the answer: no "not found", no content, no password echoed back
            assertThat(a.text()).as(c.what()).doesNotContain("not found").doesNotContain("hunter2")
                    .doesNotContain("root:x:").doesNotContain("Exception");
        }
        assertThat(CANARY_HITS.get()).as("requests reaching the submitter's server").isZero();
        assertThat(pipelineIds()).as("pipelines started").isEqualTo(pipelines);
        assertThat(files()).as("files under the test folder").isEqualTo(before);
    }

    @Test
    @Order(2)
    void aRefusedPathSaysOnlyThatItIsOutsideTheRoots() throws Exception {
        // one that exists and one that does not get the same words
        String exists = submit(ADMIN, with("train_data", "/etc/passwd")).body().at("/errors/0/message").asText();
        String missing = submit(ADMIN, with("train_data", "/etc/no-such-file")).body().at("/errors/0/message")
                .asText();
        assertThat(exists).contains("outside the allowed data roots");
        assertThat(exists.replace("/etc/passwd", "X")).isEqualTo(missing.replace("/etc/no-such-file", "X"));
    }

    @Test
    @Order(3)
    void aSpecInsideTheRootsIsAcceptedAndTheSubmitterRecorded() throws Exception {
        Answer created = submit(BOB, with("tracking", "{uri: \"" + ALLOWED_MLFLOW + "/\"}"));
        assertThat(created.status()).as(created.text()).isEqualTo(201);
        String id = created.body().get("id").asText();
        assertThat(request("GET", "/api/v1/pipelines/" + id, ADMIN, null).body().get("submitter").asText())
                .isEqualTo("bob");
        Answer s3 = submit(BOB, with("train_data", "s3://datasets/judges/train.jsonl")
                .replace("name: hostile", "name: hostile-s3\nartifact_root: s3://tract-artifacts/runs/team-a"));
        assertThat(s3.status()).as(s3.text()).isEqualTo(201);
    }

    @Test
    @Order(4)
    void tokensSeeAndCancelOnlyWhatTheirScopesAllow() throws Exception {
        String bobs = submit(BOB, GOOD).body().get("id").asText();
        String alices = submit(ALICE, GOOD).body().get("id").asText();

        assertThat(submit(READER, GOOD).status()).as("read cannot submit").isEqualTo(403);
        assertThat(submit(CANCELLER, GOOD).status()).as("cancel cannot submit").isEqualTo(403);
        assertThat(request("GET", "/api/v1/pipelines", CANCELLER, null).status()).isEqualTo(403);

        // a submitter sees its own pipelines, and another's answer as unknown ids do
        List<String> alicesList = request("GET", "/api/v1/pipelines?page_size=1000", ALICE, null).body()
                .get("pipelines").findValuesAsText("id");
        assertThat(alicesList).contains(alices).doesNotContain(bobs);
        assertThat(request("GET", "/api/v1/pipelines/" + bobs, ALICE, null).status()).isEqualTo(404);
        assertThat(request("GET", "/api/v1/pipelines/" + bobs + "/report", ALICE, null).status()).isEqualTo(404);
        assertThat(request("POST", "/api/v1/pipelines/" + bobs + "/cancel", ALICE, "").status()).isEqualTo(404);
        assertThat(request("GET", "/api/v1/pipelines/" + alices, ALICE, null).body().get("submitter").asText())
                .isEqualTo("alice");

        // read sees everything and cancels nothing
        assertThat(request("GET", "/api/v1/pipelines?page_size=1000", READER, null).body().get("pipelines")
                .findValuesAsText("id")).contains(alices, bobs);
        assertThat(request("GET", "/api/v1/pipelines/" + bobs, READER, null).status()).isEqualTo(200);
        Answer readerCancel = request("POST", "/api/v1/pipelines/" + bobs + "/cancel", READER, "");
        assertThat(readerCancel.status()).isEqualTo(403);
        assertThat(readerCancel.text()).contains("lacks the cancel scope");
        assertThat(request("GET", "/api/v1/pipelines/" + bobs, ADMIN, null).body().get("state").asText())
                .isEqualTo("RUNNING");

        // a submitter cancels its own; the cancel scope cancels anyone's
        assertThat(request("POST", "/api/v1/pipelines/" + alices + "/cancel", ALICE, "").status()).isEqualTo(202);
        assertThat(request("POST", "/api/v1/pipelines/" + bobs + "/cancel", CANCELLER, "").status()).isEqualTo(202);
        assertThat(request("GET", "/api/v1/pipelines", null, null).status()).isEqualTo(401);
    }

    @Test
    @Order(0)
    void theHealthCheckWritesNothing() throws Exception {
        Set<String> before = files();
        HttpResponse<String> health = HTTP.send(HttpRequest.newBuilder(URI.create("http://localhost:"
                + APP.getAdminPort() + "/healthcheck")).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(health.body()).contains("artifacts");
        assertThat(files()).isEqualTo(before);
    }
}
