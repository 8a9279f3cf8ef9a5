package dev.tract.api;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tract.activities.ActivityEnvironment;
import dev.tract.judge.data.CanonicalJson;
import dev.tract.judge.data.SyntheticTask;
import dev.tract.worker.TractWorker;
import dev.tract.worker.WorkerConfig;
import io.dropwizard.core.server.DefaultServerFactory;
import io.dropwizard.jetty.HttpConnectorFactory;
import io.dropwizard.testing.DropwizardTestSupport;
import io.dropwizard.testing.junit5.DropwizardAppExtension;
import io.dropwizard.testing.junit5.DropwizardExtensionsSupport;
import io.temporal.testing.TestWorkflowEnvironment;
import jakarta.ws.rs.client.Entity;
import jakarta.ws.rs.client.Invocation;
import jakarta.ws.rs.core.Response;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.ExtendWith;

/** Every endpoint through a real Jetty, against Temporal's test environment with a worker. */
@ExtendWith(DropwizardExtensionsSupport.class)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ApiTest {
    static final String TOKEN = "test-token-0123456789";
    static final ObjectMapper JSON = new ObjectMapper();
    static final Path DIR;
    static final TestWorkflowEnvironment TEMPORAL = TestWorkflowEnvironment.newInstance();
    static String pipelineId;

    static {
        try {
            DIR = Files.createTempDirectory("tract-api");
            CanonicalJson.write(DIR.resolve("train.jsonl"), SyntheticTask.generate(12, 1));
            CanonicalJson.write(DIR.resolve("test.jsonl"), SyntheticTask.generate(8, 2));
        } catch (Exception e) {
            throw new ExceptionInInitializerError(e);
        }
        WorkerConfig wc = WorkerConfig.defaults("test").withWorkDir(DIR.resolve("work"));
        TractWorker.register(TEMPORAL.getWorkerFactory(), wc, new ActivityEnvironment(TEMPORAL.getWorkflowClient(),
                wc.workDir(), "cpu", new AtomicBoolean(), 8, ActivityEnvironment.Faults.NONE));
        TEMPORAL.start();
    }

    static TractApiConfiguration config() {
        TractApiConfiguration c = new TractApiConfiguration();
        c.setTokens(List.of(ApiToken.parse("ops:admin:" + TOKEN)));
        c.setMaxSpecBytes(8192);
        c.setSpecBaseDir(DIR.toString());
        c.setDefaultArtifactRoot(DIR.resolve("runs").toUri().toString());
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
    static void stopTemporal() {
        TEMPORAL.close();
    }

    static final String SPEC = """
            name: api-test
            seed_model: {preset: tiny, seed: 1}
            train_data: train.jsonl
            eval_sets: [{name: synthetic, data: test.jsonl}]
            method: stage1-only
            stage1: {steps: 3, batch_size: 4, max_length: 300}
            generation: {max_new_tokens: 12}
            """;

    Invocation.Builder call(String path) {
        return APP.client().target("http://localhost:" + APP.getLocalPort() + path).request()
                .header("Authorization", "Bearer " + TOKEN);
    }

    Invocation.Builder anonymous(String path) {
        return APP.client().target("http://localhost:" + APP.getLocalPort() + path).request();
    }

    static JsonNode json(Response r) throws Exception {
        try (r) {
            return JSON.readTree(r.readEntity(String.class));
        }
    }

    /** The status of a response, whose connection is then released. */
    static int status(Response r) {
        try (r) {
            r.readEntity(String.class);
            return r.getStatus();
        }
    }

    @Test
    @Order(1)
    void everyApiRouteNeedsTheToken() throws Exception {
        for (String path : List.of("/api/v1/pipelines", "/api/v1/pipelines/x", "/api/v1/openapi.json")) {
            try (Response none = anonymous(path).get()) {
                assertThat(none.getStatus()).as(path).isEqualTo(401);
                assertThat(none.getHeaderString("WWW-Authenticate")).isEqualTo("Bearer");
                none.readEntity(String.class);
            }
            assertThat(status(anonymous(path).header("Authorization", "Bearer nope").get())).as(path).isEqualTo(401);
        }
        assertThat(status(anonymous("/api/v1/pipelines").post(Entity.text(SPEC)))).isEqualTo(401);
    }

    @Test
    @Order(2)
    void invalidSpecGets422WithEveryField() throws Exception {
        Response r = call("/api/v1/pipelines").post(Entity.entity("method: magic\nstage1: {lr: 7}\n",
                "application/yaml"));
        assertThat(r.getStatus()).isEqualTo(422);
        JsonNode body = json(r);
        assertThat(body.get("errors").findValuesAsText("field")).contains("train_data", "eval_sets", "method",
                "stage1.lr");
        assertThat(body.toString()).doesNotContain("Exception").doesNotContain("at dev.tract");
    }

    @Test
    @Order(3)
    void oversizedBodyGets413() {
        assertThat(status(call("/api/v1/pipelines").post(Entity.text("name: x\n# " + "y".repeat(10_000) + "\n"))))
                .isEqualTo(413);
    }

    @Test
    @Order(4)
    void unknownPipelineGets404() throws Exception {
        for (String path : List.of("/api/v1/pipelines/nope", "/api/v1/pipelines/nope/report",
                "/api/v1/pipelines/nope/report.html")) {
            try (Response r = call(path).get()) {
                assertThat(r.getStatus()).as(path).isEqualTo(404);
                assertThat(r.readEntity(String.class)).doesNotContain("Exception");
            }
        }
        assertThat(status(call("/api/v1/pipelines/nope/cancel").post(Entity.text("")))).isEqualTo(404);
    }

    /**
     * A mistyped queue: the pipeline is accepted and waits, and its status names the queue it waits on. (On a
     * cluster, which lists the pollers of a queue, the submission also warns at once; the test server cannot tell.)
     * First of all: once the time-skipping test server has skipped time its clock runs ahead of the wall clock.
     */
    @Test
    @Order(0)
    void aPipelineOnAQueueNoWorkerPollsSaysWhatItWaitsFor() throws Exception {
        System.setProperty("tract.waitNoticeSeconds", "1");
        try {
            Response created = call("/api/v1/pipelines").post(Entity.entity(SPEC
                    + "task_queues: {gpu: tract-gpux}\n", "application/yaml"));
            assertThat(created.getStatus()).isEqualTo(201);
            String id = json(created).get("id").asText();
            JsonNode p = json(call("/api/v1/pipelines/" + id).get());
            for (int i = 0; i < 100 && p.path("waiting").isNull(); i++) {
                Thread.sleep(200);
                p = json(call("/api/v1/pipelines/" + id).get());
            }
            assertThat(p.path("waiting").asText()).startsWith("waiting for a worker on queue tract-gpux since ");
            assertThat(p.at("/progress/stage").asText()).isEqualTo("stage1");
            assertThat(status(call("/api/v1/pipelines/" + id + "/cancel").post(Entity.text("")))).isEqualTo(202);
        } finally {
            System.clearProperty("tract.waitNoticeSeconds");
        }
    }

    @Test
    @Order(5)
    void submitFollowAndReadTheReport() throws Exception {
        Response created = call("/api/v1/pipelines").post(Entity.entity(SPEC, "application/yaml"));
        assertThat(created.getStatus()).isEqualTo(201);
        JsonNode createdBody = json(created);
        assertThat(createdBody.has("warnings")).as("every queue has a worker").isFalse();
        pipelineId = createdBody.get("id").asText();
        assertThat(created.getLocation().getPath()).endsWith("/api/v1/pipelines/" + pipelineId);
        JsonNode p = json(call("/api/v1/pipelines/" + pipelineId).get());
        assertThat(p.get("id").asText()).isEqualTo(pipelineId);
        for (int i = 0; i < 300 && "RUNNING".equals(p.get("state").asText()); i++) {
            Thread.sleep(200);
            p = json(call("/api/v1/pipelines/" + pipelineId).get());
        }
        assertThat(p.get("state").asText()).isEqualTo("COMPLETED");
        assertThat(p.at("/result/evals/0/evalSet").asText()).isEqualTo("synthetic");
        assertThat(p.at("/progress/stagesDone").size()).isGreaterThanOrEqualTo(3);
        assertThat(p.get("history_events").asLong()).as("the size of the pipeline's history").isPositive();
        assertThat(p.get("report_uri").asText()).endsWith("/pipelines/" + pipelineId + "/report.json");
        JsonNode report = json(call("/api/v1/pipelines/" + pipelineId + "/report").get());
        assertThat(report.get("state").asText()).isEqualTo("COMPLETED");
        try (Response html = call("/api/v1/pipelines/" + pipelineId + "/report.html").get()) {
            assertThat(html.getStatus()).isEqualTo(200);
            assertThat(html.getMediaType().toString()).startsWith("text/html");
            assertThat(html.readEntity(String.class)).contains("<h1>" + pipelineId + "</h1>");
        }
        assertThat(status(call("/api/v1/pipelines/" + pipelineId + "/cancel").post(Entity.text(""))))
                .as("a finished pipeline cannot be cancelled").isEqualTo(409);
    }

    @Test
    @Order(6)
    void listPagesAndFiltersByState() throws Exception {
        Response second = call("/api/v1/pipelines").post(Entity.entity(SPEC.replace("steps: 3", "steps: 400"),
                "application/yaml"));
        String running = json(second).get("id").asText();
        JsonNode all = json(call("/api/v1/pipelines").get());
        assertThat(all.get("pipelines").findValuesAsText("id")).contains(pipelineId, running);
        JsonNode completed = json(call("/api/v1/pipelines?state=COMPLETED").get());
        assertThat(completed.get("pipelines").findValuesAsText("id")).contains(pipelineId).doesNotContain(running);
        JsonNode page = json(call("/api/v1/pipelines?page_size=1").get());
        assertThat(page.get("pipelines")).hasSize(1);
        String token = page.get("next_page_token").asText();
        JsonNode next = json(call("/api/v1/pipelines?page_size=1&page_token=" + token).get());
        assertThat(next.get("pipelines").get(0).get("id").asText())
                .isNotEqualTo(page.get("pipelines").get(0).get("id").asText());
        assertThat(status(call("/api/v1/pipelines?state=SLEEPING").get())).isEqualTo(400);

        // cancel once training runs: Temporal's test server can lose a cancellation that races a short CPU activity
        // finishing (its workflow task is refused with ACTIVITY_UNKNOWN and never retried); a cluster retries it
        JsonNode p = json(call("/api/v1/pipelines/" + running).get());
        for (int i = 0; i < 300 && p.at("/progress/step").asInt() < 1; i++) {
            Thread.sleep(200);
            p = json(call("/api/v1/pipelines/" + running).get());
        }
        assertThat(p.at("/progress/stage").asText()).isEqualTo("stage1");
        assertThat(status(call("/api/v1/pipelines/" + running + "/cancel").post(Entity.text("")))).isEqualTo(202);
        p = json(call("/api/v1/pipelines/" + running).get());
        for (int i = 0; i < 300 && "RUNNING".equals(p.get("state").asText()); i++) {
            Thread.sleep(200);
            p = json(call("/api/v1/pipelines/" + running).get());
        }
        assertThat(p.get("state").asText()).isEqualTo("CANCELLED");
    }

    @Test
    @Order(7)
    void openApiAndHealthChecks() throws Exception {
        JsonNode doc = json(call("/api/v1/openapi.json").get());
        assertThat(doc.get("openapi").asText()).startsWith("3.");
        assertThat(doc.get("paths").has("/api/v1/pipelines/{id}/report.html")).isTrue();
        Response health = APP.client().target("http://localhost:" + APP.getAdminPort() + "/healthcheck").request()
                .get();
        JsonNode h = json(health);
        assertThat(h.at("/temporal/healthy").asBoolean()).isTrue();
        assertThat(h.at("/artifacts/healthy").asBoolean()).isTrue();
        assertThat(status(APP.client().target("http://localhost:" + APP.getAdminPort() + "/metrics").request().get()))
                .isEqualTo(200);
    }
}
