package dev.tract.activities.tracking;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.tract.activities.artifacts.S3ProxyFixture;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The MLflow tracker against a server that checks every request against MLflow's REST contract. */
class MlflowTrackerTest {
    @TempDir
    Path tmp;
    FakeMlflowServer server;

    @BeforeEach
    void start() throws Exception {
        server = new FakeMlflowServer();
    }

    @AfterEach
    void stop() {
        server.close();
    }

    static final MlflowTracker.Credentials NONE = new MlflowTracker.Credentials(null, null, null, false);

    @Test
    void runsParamsMetricsInputsArtifactsAndRegistryFollowTheContract() throws Exception {
        MlflowTracker t = new MlflowTracker(server.uri(), "judges", NONE);
        String parent = t.openRun("p1", "p1", null, Map.of("temporal.workflowId", "p1"));
        String child = t.openRun("p1/stage1", "stage1", parent, Map.of("tract.stage", "stage1"));
        assertThat(t.openRun("p1/stage1", "stage1", parent, Map.of())).as("same key, same run").isEqualTo(child);
        Map<String, String> params = new LinkedHashMap<>();
        for (int i = 0; i < 250; i++) {
            params.put("p" + i, "v" + i);
        }
        t.logParams(parent, params);
        SafeTracker safe = new SafeTracker(t);
        for (int step = 1; step <= 2500; step++) {
            safe.metric(child, "train/loss", 1.0 / step, step);
        }
        safe.flush();
        t.logInputs(parent, List.of(new Tracker.DatasetInput("train", "a".repeat(64), "file:///d/train.jsonl",
                "training")));
        Path report = Files.writeString(tmp.resolve("report.html"), "<html>ok</html>");
        t.logArtifact(parent, "report/report.html", report);
        t.endRun(child, "FINISHED");
        String version = t.registerModel("judge", "runs:/" + parent + "/judge", parent, "champion");

        assertThat(server.violations()).isEmpty();
        FakeMlflowServer.Run p = server.runs().get(parent);
        FakeMlflowServer.Run c = server.runs().get(child);
        assertThat(p.params).hasSize(250).containsEntry("p249", "v249");
        assertThat(c.tags).containsEntry("mlflow.parentRunId", parent).containsEntry("mlflow.runName", "stage1")
                .containsEntry("tract.runKey", "p1/stage1");
        assertThat(c.metrics).hasSize(2500);
        assertThat(c.info.get("status").asText()).isEqualTo("FINISHED");
        assertThat(p.inputs).hasSize(1);
        assertThat(t.lastStep(child, "train/loss")).hasValue(2500);
        assertThat(version).isEqualTo("1");
        assertThat(server.aliases("judge")).containsEntry("champion", "1");
        assertThat(server.artifacts().keySet()).anyMatch(k -> k.endsWith(parent + "/artifacts/report/report.html"));
        assertThat(new String(server.artifacts().values().iterator().next(), StandardCharsets.UTF_8))
                .isEqualTo("<html>ok</html>");
        // 250 params in batches of at most 100; 2,500 metrics buffered into far fewer calls, none over 1,000
        assertThat(server.batches().stream().filter(x -> x[1] > 0).map(x -> x[1]).toList())
                .containsExactly(100, 100, 50);
        List<Integer> metricBatches = server.batches().stream().filter(x -> x[0] > 0).map(x -> x[0]).toList();
        assertThat(metricBatches.stream().mapToInt(Integer::intValue).sum()).isEqualTo(2500);
        assertThat(metricBatches).allSatisfy(n -> assertThat(n).isLessThanOrEqualTo(1000))
                .hasSizeLessThanOrEqualTo(2500 / 200 + 1);
        assertThat(safe.failures()).isZero();
    }

    @Test
    void aRegisteredModelResolvesToItsSourceByAliasOrVersion() throws Exception {
        MlflowTracker t = new MlflowTracker(server.uri(), "judges", NONE);
        String run = t.openRun("p2", "p2", null, Map.of());
        t.registerModel("judge", "s3://bucket/tract/stages/train/abc/model", run, "champion");
        t.registerModel("judge", "s3://bucket/tract/stages/train/def/model", run, "challenger");
        assertThat(t.registeredModelSource("judge", "champion", null))
                .isEqualTo("s3://bucket/tract/stages/train/abc/model");
        assertThat(t.registeredModelSource("judge", null, "2")).isEqualTo("s3://bucket/tract/stages/train/def/model");
        assertThatThrownBy(() -> t.registeredModelSource("judge", "nobody", null)).hasMessageContaining("nobody");
        assertThat(server.violations()).isEmpty();
    }

    @Test
    void tokenAndBasicAuthAreSentAsMlflowClientsSendThem() throws Exception {
        server.requireAuthorization("Bearer s3cr3t");
        MlflowTracker t = new MlflowTracker(server.uri(), "e", new MlflowTracker.Credentials(null, null, "s3cr3t",
                false));
        String run = t.openRun("k", "k", null, Map.of());
        t.logArtifact(run, "a.txt", Files.writeString(tmp.resolve("a.txt"), "x"));
        server.requireAuthorization("Basic " + java.util.Base64.getEncoder().encodeToString("u:p".getBytes()));
        MlflowTracker basic = new MlflowTracker(server.uri(), "e", new MlflowTracker.Credentials("u", "p", null,
                false));
        assertThat(basic.openRun("k", "k", null, Map.of())).isEqualTo(run);
        assertThat(new MlflowTracker.Credentials("u", "pw-SECRET", "TOKEN-SECRET", false).toString())
                .doesNotContain("TOKEN-SECRET")
                .doesNotContain("pw-SECRET");
    }

    @Test
    void anOutageNeverThrowsAndIsCounted() throws Exception {
        MlflowTracker t = new MlflowTracker(server.uri(), "e", NONE);
        String run = t.openRun("k", "k", null, Map.of());
        SafeTracker safe = new SafeTracker(t, 2, 10);
        server.setDown(true);
        for (int step = 1; step <= 10; step++) {
            safe.metric(run, "train/loss", step, step);
        }
        safe.flush();
        safe.endRun(run, "FINISHED");
        assertThat(safe.failures()).isEqualTo(2);
        server.setDown(false);
        safe.metric(run, "train/loss", 0.5, 11);
        safe.flush();
        assertThat(server.runs().get(run).metrics).hasSize(1);
        assertThat(safe.failures()).isEqualTo(2);
    }

    @Test
    void artifactsGoStraightToS3WhenTheExperimentStoresThemThere() throws Exception {
        try (S3ProxyFixture s3 = new S3ProxyFixture(tmp.resolve("blobs"), "mlflow")) {
            server.setArtifactRoot("s3://mlflow/artifacts");
            MlflowTracker t = new MlflowTracker(server.uri(), "s3-exp", NONE, s3.settings());
            String run = t.openRun("k", "k", null, Map.of());
            t.logArtifact(run, "report/report.json", Files.writeString(tmp.resolve("r.json"), "{}"));
            assertThat(s3.raw().listObjectsV2(b -> b.bucket("mlflow")).contents())
                    .anyMatch(o -> o.key().endsWith(run + "/artifacts/report/report.json"));
            assertThat(server.artifacts()).isEmpty();
        }
    }

    /**
     * The tracking server chooses where a run's artifacts go; a worker with destinations uploads only inside its
     * artifact roots, so a server answering with someone else's bucket never receives the worker's credentials.
     */
    @Test
    void aRunWhoseArtifactsLiveOutsideTheWorkersRootsGetsNone() throws Exception {
        try (S3ProxyFixture s3 = new S3ProxyFixture(tmp.resolve("blobs"), "mlflow")) {
            server.setArtifactRoot("s3://mlflow/artifacts");
            MlflowTracker t = new MlflowTracker(server.uri(), "foreign", NONE, s3.settings(),
                    dev.tract.workflows.spec.Destinations.of(List.of(), List.of("s3://tract/runs"), List.of()));
            String run = t.openRun("k", "k", null, Map.of());
            assertThatThrownBy(() -> t.logArtifact(run, "judge/model.safetensors", Files.writeString(
                    tmp.resolve("m"), "weights"))).hasMessageContaining("outside the allowed artifact roots");
            assertThat(s3.raw().listObjectsV2(b -> b.bucket("mlflow")).contents()).isEmpty();
        }
    }

    static int post(FakeMlflowServer server, String endpoint, String body, String type) throws Exception {
        var req = java.net.http.HttpRequest.newBuilder(java.net.URI.create(server.uri() + "/api/2.0/mlflow/"
                + endpoint)).header("Content-Type", type).POST(java.net.http.HttpRequest.BodyPublishers.ofString(body));
        return java.net.http.HttpClient.newHttpClient().send(req.build(),
                java.net.http.HttpResponse.BodyHandlers.ofString()).statusCode();
    }

    static int put(FakeMlflowServer server, String artifact) throws Exception {
        var req = java.net.http.HttpRequest.newBuilder(java.net.URI.create(server.uri()
                + "/api/2.0/mlflow-artifacts/artifacts/" + artifact)).PUT(java.net.http.HttpRequest.BodyPublishers
                .ofString("x"));
        return java.net.http.HttpClient.newHttpClient().send(req.build(),
                java.net.http.HttpResponse.BodyHandlers.ofString()).statusCode();
    }

    /** The stand-in refuses, with MLflow's 400, each request MLflow refuses, and records it as a violation. */
    @Test
    void theStandInRefusesWhatMlflowRefuses() throws Exception {
        MlflowTracker t = new MlflowTracker(server.uri(), "rules", NONE);
        String run = t.openRun("r", "r", null, Map.of());
        String doomed = t.openRun("d", "d", null, Map.of());
        assertThat(server.violations()).isEmpty();
        server.deleteRun(doomed);
        String json = "application/json";
        String batch = "{\"run_id\": \"" + run + "\", ";
        StringBuilder many = new StringBuilder(batch + "\"metrics\": [");
        for (int i = 0; i < 1001; i++) {
            many.append(i == 0 ? "" : ",").append("{\"key\": \"m\", \"value\": 1, \"timestamp\": 1, \"step\": ")
                    .append(i).append('}');
        }
        many.append("]}");
        Map<String, Integer> cases = new LinkedHashMap<>();
        cases.put("content type", post(server, "runs/log-batch", batch + "\"tags\": []}", "text/plain"));
        cases.put("key with ..", post(server, "runs/log-batch", batch + "\"params\": [{\"key\": \"a/../b\", "
                + "\"value\": \"v\"}]}", json));
        cases.put("key with a leading /", post(server, "runs/log-batch", batch + "\"params\": [{\"key\": \"/a\", "
                + "\"value\": \"v\"}]}", json));
        cases.put("key with a bad character", post(server, "runs/log-batch", batch + "\"tags\": [{\"key\": "
                + "\"a#b\", \"value\": \"v\"}]}", json));
        cases.put("key of 251 characters", post(server, "runs/log-batch", batch + "\"metrics\": [{\"key\": \""
                + "k".repeat(251) + "\", \"value\": 1, \"timestamp\": 1}]}", json));
        cases.put("tag value of 8001", post(server, "runs/log-batch", batch + "\"tags\": [{\"key\": \"t\", "
                + "\"value\": \"" + "v".repeat(8001) + "\"}]}", json));
        cases.put("param value of 6001", post(server, "runs/log-batch", batch + "\"params\": [{\"key\": \"p\", "
                + "\"value\": \"" + "v".repeat(6001) + "\"}]}", json));
        cases.put("metric value not a number", post(server, "runs/log-batch", batch + "\"metrics\": [{\"key\": "
                + "\"m\", \"value\": \"high\", \"timestamp\": 1}]}", json));
        cases.put("fractional timestamp", post(server, "runs/log-batch", batch + "\"metrics\": [{\"key\": \"m\", "
                + "\"value\": 1, \"timestamp\": 1.5}]}", json));
        cases.put("step not an integer", post(server, "runs/log-batch", batch + "\"metrics\": [{\"key\": \"m\", "
                + "\"value\": 1, \"timestamp\": 1, \"step\": \"two\"}]}", json));
        cases.put("body over 1 MB", post(server, "runs/log-batch", batch + "\"tags\": [], \"pad\": \""
                + "x".repeat(1_000_001) + "\"}", json));
        cases.put("1,001 metrics", post(server, "runs/log-batch", many.toString(), json));
        cases.put("duplicate param keys", post(server, "runs/log-batch", batch + "\"params\": [{\"key\": \"p\", "
                + "\"value\": \"1\"}, {\"key\": \"p\", \"value\": \"1\"}]}", json));
        cases.put("logging to a deleted run", post(server, "runs/log-batch", "{\"run_id\": \"" + doomed + "\", "
                + "\"tags\": [{\"key\": \"t\", \"value\": \"v\"}]}", json));
        cases.put("a filter it does not understand", post(server, "runs/search", "{\"experiment_ids\": [\""
                + t.experimentId() + "\"], \"filter\": \"attributes.status = 'RUNNING'\"}", json));
        t.registerModel("judge", "runs:/" + run + "/judge", run, "champion");
        cases.put("alias latest", post(server, "registered-models/alias", "{\"name\": \"judge\", \"alias\": "
                + "\"latest\", \"version\": \"1\"}", json));
        cases.put("alias v2", post(server, "registered-models/alias", "{\"name\": \"judge\", \"alias\": \"v2\", "
                + "\"version\": \"1\"}", json));
        cases.put("artifact path with ..", put(server, "1/" + run + "/artifacts/../../x"));
        cases.put("artifact path under no run", put(server, "9/nothing/artifacts/x"));
        server.deleteExperiment("rules");
        cases.put("run in a deleted experiment", post(server, "runs/create", "{\"experiment_id\": \""
                + t.experimentId() + "\"}", json));
        assertThat(cases).allSatisfy((what, status) -> assertThat(status).as(what).isEqualTo(400));
        assertThat(server.violations()).hasSize(cases.size());
    }

    /** What the stand-in enforces, the tracker satisfies: long tags are cut, a deleted experiment is restored. */
    @Test
    void theTrackerCutsLongTagsAndRestoresADeletedExperiment() throws Exception {
        MlflowTracker first = new MlflowTracker(server.uri(), "judges", NONE);
        String old = first.openRun("p", "p", null, Map.of("note", "n".repeat(9000)));
        assertThat(server.runs().get(old).tags.get("note")).hasSize(8000);
        server.deleteExperiment("judges");
        server.deleteRun(old);
        MlflowTracker again = new MlflowTracker(server.uri(), "judges", NONE);
        assertThat(again.experimentId()).isEqualTo(first.experimentId());
        String fresh = again.openRun("p", "p", null, Map.of());
        assertThat(fresh).as("a deleted run is not reused").isNotEqualTo(old);
        again.setTags(fresh, Map.of("k", "v"));
        assertThat(server.violations()).isEmpty();
    }
}
