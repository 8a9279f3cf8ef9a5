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
        long batches = server.requests().stream().filter(r -> r.endsWith("runs/log-batch")).count();
        assertThat(batches).as("3 param batches + 13 metric flushes").isLessThanOrEqualTo(3 + 13);
        assertThat(safe.failures()).isZero();
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
}
