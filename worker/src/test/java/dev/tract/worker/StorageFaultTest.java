package dev.tract.worker;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tract.activities.ActivityEnvironment;
import dev.tract.activities.artifacts.S3ProxyFixture;
import dev.tract.workflows.Pipelines;
import dev.tract.workflows.Values;
import dev.tract.workflows.spec.PipelineSpec;
import dev.tract.workflows.spec.SpecParser;
import io.temporal.testing.TestWorkflowEnvironment;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The S3 endpoint goes away in the middle of a checkpoint upload and stays away until training has finished every
 * step; training carries on, the uploads wait, and the judge equals an uninterrupted run's.
 */
class StorageFaultTest {
    @TempDir
    Path tmp;
    S3ProxyFixture s3;
    TestWorkflowEnvironment env;

    static final List<String> PROPERTIES = List.of("tract.s3.endpoint", "aws.accessKeyId", "aws.secretAccessKey");
    final java.util.Map<String, String> saved = new java.util.HashMap<>();

    @BeforeEach
    void start() throws Exception {
        PROPERTIES.forEach(k -> saved.put(k, System.getProperty(k)));
        s3 = new S3ProxyFixture(tmp.resolve("blobs"), "runs");
        System.setProperty("tract.s3.endpoint", s3.endpoint().toString());
        System.setProperty("aws.accessKeyId", S3ProxyFixture.identity());
        System.setProperty("aws.secretAccessKey", S3ProxyFixture.credential());
    }

    @AfterEach
    void stop() throws Exception {
        if (env != null) {
            env.close();
        }
        s3.close();
        // later tests in this JVM see the properties as they were
        for (String k : PROPERTIES) {
            if (saved.get(k) == null) {
                System.clearProperty(k);
            } else {
                System.setProperty(k, saved.get(k));
            }
        }
    }

    private Values.PipelineResult run(String root, String id, PipelineSpec spec) {
        PipelineSpec other = new PipelineSpec(spec.name(), spec.seedModel(), spec.trainData(), spec.evalSets(),
                spec.method(), spec.stage1(), spec.stage2(), spec.generation(), spec.scoring(), spec.nCot(),
                spec.checkpoint(), spec.shardSize(), root, spec.taskQueues(), spec.seed(), spec.template(),
                spec.heartbeatTimeoutSeconds(), spec.tracking());
        Pipelines.start(env.getWorkflowClient(), other, id);
        return Pipelines.result(env.getWorkflowClient(), id);
    }

    @Test
    void anS3OutageDuringACheckpointUploadIsRiddenOut() throws Exception {
        AtomicBoolean outage = new AtomicBoolean();
        AtomicBoolean away = new AtomicBoolean();
        List<Integer> stepsWhileAway = java.util.Collections.synchronizedList(new java.util.ArrayList<>());
        ActivityEnvironment.Faults faults = new ActivityEnvironment.Faults() {
            @Override
            public void afterStep(String stage, int attempt, int step) {
                if (away.get()) {
                    stepsWhileAway.add(step);
                }
                // the store goes away just before the checkpoint of step 4 is uploaded...
                if (stage.equals("stage1") && step == 4 && outage.compareAndSet(false, true)) {
                    try {
                        s3.goAway();
                    } catch (Exception e) {
                        throw new IllegalStateException(e);
                    }
                    away.set(true);
                }
                // ...and comes back once the last step is done, while the final save waits for it
                if (stage.equals("stage1") && step == 8 && away.get()) {
                    Thread back = new Thread(() -> {
                        try {
                            Thread.sleep(3_000); // a failed upload attempt or two first
                            away.set(false);
                            s3.comeBack();
                        } catch (Exception e) {
                            throw new IllegalStateException(e);
                        }
                    });
                    back.start();
                }
            }
        };
        env = TestWorkflowEnvironment.newInstance();
        WorkerConfig config = WorkerConfig.defaults("test").withWorkDir(tmp.resolve("work"));
        TractWorker.register(env.getWorkerFactory(), config, new ActivityEnvironment(env.getWorkflowClient(),
                config.workDir(), "cpu", new AtomicBoolean(), 8, faults));
        env.start();
        PipelineSpec base = PipelineFixture.spec(tmp, "stage1-only", 12, 8);
        PipelineSpec spec = SpecParser.parse(SpecParser.withAbsolutePaths("""
                name: s3-outage
                seed_model: {preset: tiny}
                train_data: train.jsonl
                eval_sets: [{name: synthetic, data: test.jsonl}]
                method: stage1-only
                stage1: {steps: 8, batch_size: 4, max_length: 300}
                checkpoint: {every_steps: 4}
                generation: {max_new_tokens: 8}
                heartbeat_timeout_seconds: 10
                artifact_root: s3://runs/tract
                """, tmp), tmp, base.artifactRoot());
        Pipelines.start(env.getWorkflowClient(), spec, "s3-outage");
        Values.PipelineResult r = Pipelines.result(env.getWorkflowClient(), "s3-outage");
        assertThat(outage.get()).isTrue();
        assertThat(r.state()).isEqualTo("COMPLETED");
        Values.StageSummary stage1 = r.stages().stream().filter(s -> s.name().equals("stage1")).findFirst()
                .orElseThrow();
        assertThat(stage1.attempts()).as("the upload retried within the attempt").isEqualTo(1);
        assertThat(stage1.steps()).isEqualTo(8);
        List<String> keys = s3.raw().listObjectsV2(b -> b.bucket("runs").prefix("tract/stages/train/")).contents()
                .stream().map(o -> o.key()).toList();
        String latest = s3.raw().getObjectAsBytes(b -> b.bucket("runs").key(keys.stream()
                .filter(k -> k.endsWith("checkpoints/LATEST")).findFirst().orElseThrow())).asUtf8String().strip();
        assertThat(keys).as("LATEST names a complete checkpoint")
                .anyMatch(k -> k.endsWith("checkpoints/" + latest + "/MANIFEST.json"));
        assertThat(stepsWhileAway).as("training went on while the store was away").containsExactly(5, 6, 7, 8);

        // the same stage without an outage, in another store: the same judge
        Values.PipelineResult clean = run(spec.artifactRoot().replace("s3://runs/tract", "s3://runs/clean"),
                "clean", spec);
        byte[] judge = s3.raw().getObjectAsBytes(b -> b.bucket("runs").key(r.stages().get(1).outputUri()
                .substring("s3://runs/".length()) + "/model.safetensors")).asByteArray();
        byte[] cleanJudge = s3.raw().getObjectAsBytes(b -> b.bucket("runs").key(clean.stages().get(1).outputUri()
                .substring("s3://runs/".length()) + "/model.safetensors")).asByteArray();
        assertThat(judge).as("final weights equal an uninterrupted run's").isEqualTo(cleanJudge);
    }
}
