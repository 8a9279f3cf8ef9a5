package dev.tract.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/** The deployment files: compose, Kubernetes manifests and the image, checked for what a cluster relies on. */
class DeploymentManifestsTest {
    static final Path INFRA = Path.of("../infra").toAbsolutePath().normalize();
    static final ObjectMapper YAML = new YAMLMapper();

    static List<JsonNode> k8s() throws IOException {
        List<JsonNode> docs = new ArrayList<>();
        try (Stream<Path> files = Files.list(INFRA.resolve("k8s"))) {
            for (Path f : files.filter(p -> p.toString().endsWith(".yaml")).sorted().toList()) {
                var parser = new YAMLFactory().createParser(f.toFile());
                var it = YAML.readValues(parser, JsonNode.class);
                while (it.hasNext()) {
                    JsonNode d = it.next();
                    if (d != null && !d.isEmpty()) {
                        docs.add(d);
                    }
                }
            }
        }
        return docs;
    }

    static JsonNode find(List<JsonNode> docs, String kind, String name) {
        return docs.stream().filter(d -> d.path("kind").asText().equals(kind)
                && d.at("/metadata/name").asText().equals(name)).findFirst()
                .orElseThrow(() -> new AssertionError("no " + kind + " " + name));
    }

    @Test
    void kubernetesManifestsHaveImagesProbesResourcesAndGracePeriods() throws Exception {
        List<JsonNode> docs = k8s();
        for (JsonNode d : docs) {
            assertThat(d.path("apiVersion").asText()).as("apiVersion of " + d.at("/metadata/name")).isNotEmpty();
            assertThat(d.at("/metadata/namespace").asText()).as(d.at("/metadata/name").asText()).isIn("tract", "");
        }
        for (JsonNode deployment : docs.stream().filter(d -> d.path("kind").asText().equals("Deployment")).toList()) {
            String name = deployment.at("/metadata/name").asText();
            JsonNode pod = deployment.at("/spec/template/spec");
            assertThat(pod.at("/securityContext/runAsNonRoot").asBoolean()).as(name + " non-root").isTrue();
            for (JsonNode c : pod.path("containers")) {
                assertThat(c.path("image").asText()).as(name + " image").contains("tract");
                assertThat(c.has("readinessProbe")).as(name + " readiness").isTrue();
                assertThat(c.has("livenessProbe")).as(name + " liveness").isTrue();
                assertThat(c.at("/resources/requests/memory").asText()).as(name + " memory request").isNotEmpty();
                assertThat(c.path("envFrom").toString()).contains("tract-config").contains("tract-secrets");
            }
        }
        JsonNode config = find(docs, "ConfigMap", "tract-config");
        int flush = config.at("/data/TRACT_SHUTDOWN_GRACE_SECONDS").asInt();
        JsonNode gpu = find(docs, "Deployment", "tract-worker-gpu-a100");
        JsonNode gpuPod = gpu.at("/spec/template/spec");
        assertThat(gpuPod.path("terminationGracePeriodSeconds").asInt()).as("longer than the checkpoint flush")
                .isGreaterThan(flush);
        assertThat(gpuPod.at("/containers/0/resources/limits/nvidia.com~1gpu").asInt()).isEqualTo(1);
        assertThat(gpuPod.at("/containers/0/args").toString()).contains("tract-gpu");
        assertThat(gpuPod.path("tolerations").toString()).contains("spot").contains("nvidia.com/gpu");
        assertThat(gpuPod.at("/affinity/nodeAffinity").isMissingNode()).isFalse();
        JsonNode pdb = find(docs, "PodDisruptionBudget", "tract-worker-gpu");
        assertThat(pdb.at("/spec/selector/matchLabels/app.kubernetes.io~1component").asText()).isEqualTo("worker-gpu");
        assertThat(find(docs, "Deployment", "tract-worker-cpu").at("/spec/template/spec/containers/0/args")
                .toString()).contains("tract-cpu");
        JsonNode api = find(docs, "Deployment", "tract-api");
        // the admin port is unauthenticated and bound to 127.0.0.1: probed from inside the pod, never exposed
        assertThat(api.at("/spec/template/spec/containers/0/readinessProbe/exec/command").toString())
                .contains("http://127.0.0.1:8081/healthcheck");
        assertThat(api.at("/spec/template/spec/containers/0/ports").toString()).doesNotContain("8081");
        assertThat(config.at("/data/TRACT_DATA_ROOTS").asText()).startsWith("s3://");
        assertThat(config.at("/data/TRACT_ARTIFACT_ROOTS").asText()).startsWith("s3://");
        assertThat(find(docs, "Service", "tract-api").at("/spec/selector/app.kubernetes.io~1component").asText())
                .isEqualTo("api");
        assertThat(find(docs, "Secret", "tract-secrets").at("/stringData").has("TRACT_API_TOKENS")).isTrue();
    }

    @Test
    void composeRunsTheWholeStackWithHealthChecksAndOrder() throws Exception {
        JsonNode c = YAML.readTree(INFRA.resolve("compose.yaml").toFile());
        JsonNode s = c.path("services");
        assertThat(s.fieldNames()).toIterable().contains("postgresql", "temporal", "temporal-ui", "minio",
                "minio-init", "mlflow-db", "mlflow", "tract-api", "tract-worker-cpu", "tract-worker-gpu");
        assertThat(s.at("/temporal/image").asText()).startsWith("temporalio/auto-setup");
        assertThat(s.at("/temporal/depends_on/postgresql/condition").asText()).isEqualTo("service_healthy");
        assertThat(s.at("/mlflow/command").toString()).contains("--serve-artifacts").contains("postgresql://");
        assertThat(s.at("/minio-init/command").toString()).contains("mc mb").contains("local/tract");
        assertThat(s.at("/tract-worker-gpu/profiles").toString()).contains("gpu");
        assertThat(s.at("/tract-worker-gpu/deploy/resources/reservations/devices/0/driver").asText())
                .isEqualTo("nvidia");
        assertThat(s.at("/tract-worker-gpu/build/target").asText()).isEqualTo("gpu");
        for (String svc : List.of("postgresql", "temporal", "minio", "mlflow", "tract-api", "tract-worker-cpu")) {
            assertThat(s.path(svc).has("healthcheck")).as(svc + " health check").isTrue();
        }
        assertThat(s.at("/tract-api/depends_on/temporal/condition").asText()).isEqualTo("service_healthy");
        assertThat(s.at("/tract-worker-cpu/stop_grace_period").asText()).isEqualTo("3m");
        assertThat(Files.readString(INFRA.resolve(".env.example"))).contains("TRACT_API_TOKENS=\n");
        // no secret has a default: compose stops with the variable's name until it is set
        String raw = Files.readString(INFRA.resolve("compose.yaml"));
        for (String secret : List.of("TRACT_API_TOKENS", "POSTGRES_PASSWORD", "MINIO_ROOT_PASSWORD",
                "MINIO_ROOT_USER")) {
            assertThat(raw).as(secret).contains("${" + secret + ":?").doesNotContain("${" + secret + ":-");
        }
        // only the API is published on every interface; internal services on the internal network or 127.0.0.1
        s.fields().forEachRemaining(e -> e.getValue().path("ports").forEach(port -> {
            if (!e.getKey().equals("tract-api")) {
                assertThat(port.asText()).as(e.getKey() + " publishes " + port).startsWith("127.0.0.1:");
            }
        }));
        assertThat(s.at("/tract-api/ports").toString()).doesNotContain("8081");
        assertThat(c.at("/x-tract-env/TRACT_DATA_ROOTS").asText()).startsWith("s3://");
        assertThat(c.at("/x-tract-env/TRACT_ARTIFACT_ROOTS").asText()).startsWith("s3://");
    }

    @Test
    void theImageRunsAsNonRootWithTheJvmReceivingSigterm() throws Exception {
        String dockerfile = Files.readString(INFRA.resolve("docker/Dockerfile"));
        assertThat(dockerfile).contains("FROM maven:").contains("AS build").contains("FROM eclipse-temurin:17-jre")
                .contains("USER tract").contains("tini").contains("VOLUME [\"/cache\", \"/work\"]")
                .contains("AS gpu").contains("PYTORCH_LIBRARY_PATH");
        String entrypoint = Files.readString(INFRA.resolve("docker/entrypoint.sh"));
        assertThat(entrypoint).contains("exec java");
    }

    /** A command's exit code and output; -1 when it cannot start or runs past the limit (then it is killed). */
    record Result(int code, String output) {}

    static Result exec(java.util.Map<String, String> env, List<String> command, int seconds) {
        try {
            Path out = Files.createTempFile("tract-cmd", ".log");
            ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(out.toFile());
            pb.environment().putAll(env);
            Process p = pb.start();
            // output goes to a file, so the time limit holds even while the command keeps writing
            boolean done = p.waitFor(seconds, TimeUnit.SECONDS);
            if (!done) {
                p.destroyForcibly();
            }
            String text = Files.readString(out, StandardCharsets.UTF_8);
            Files.deleteIfExists(out);
            return new Result(done ? p.exitValue() : -1, text);
        } catch (IOException e) {
            return new Result(-1, e.toString());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new Result(-1, e.toString());
        }
    }

    static boolean run(String... command) {
        return exec(java.util.Map.of(), List.of(command), 120).code() == 0;
    }

    @Test
    void dockerComposeAcceptsTheFile() throws Exception {
        List<String> compose = run("docker", "compose", "version") ? List.of("docker", "compose")
                : run("docker-compose", "version") ? List.of("docker-compose") : null;
        assumeTrue(compose != null, "neither docker compose nor docker-compose is installed here: skipped");
        List<String> cmd = new ArrayList<>(compose);
        cmd.addAll(List.of("-f", INFRA.resolve("compose.yaml").toString(), "--profile", "gpu", "config", "--quiet"));
        // a project folder without infra/.env: the secrets come from this environment or not at all
        java.util.Map<String, String> secrets = java.util.Map.of("POSTGRES_PASSWORD", "p-0123456789abcdef",
                "MINIO_ROOT_USER", "tract", "MINIO_ROOT_PASSWORD", "m-0123456789abcdef",
                "TRACT_API_TOKENS", "ops:admin:0123456789abcdef0123");
        Result ok = exec(secrets, cmd, 120);
        assertThat(ok.code()).as(ok.output()).isZero();
        java.util.Map<String, String> none = new java.util.HashMap<>();
        secrets.keySet().forEach(k -> none.put(k, ""));
        Result refused = exec(none, cmd, 120);
        assertThat(refused.code()).as("compose must refuse to start without its secrets: " + refused.output())
                .isNotZero();
        assertThat(refused.output()).containsAnyOf("POSTGRES_PASSWORD", "MINIO_ROOT", "TRACT_API_TOKENS");
    }

    @Test
    void theImageBuildsWhereADockerDaemonRuns() throws Exception {
        assumeTrue(run("docker", "info"), "no Docker daemon here: image build skipped");
        assertThat(run("docker", "build", "-f", INFRA.resolve("docker/Dockerfile").toString(), "-t", "tract:test",
                INFRA.getParent().toString())).isTrue();
    }
}
