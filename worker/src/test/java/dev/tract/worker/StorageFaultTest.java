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

/** The S3 endpoint goes away for 30 s in the middle of a checkpoint upload; training carries on. */
class StorageFaultTest {
    @TempDir
    Path tmp;
    S3ProxyFixture s3;
    TestWorkflowEnvironment env;

    @BeforeEach
    void start() throws Exception {
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
        System.clearProperty("tract.s3.endpoint");
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
    void aThirtySecondS3OutageDuringACheckpointUploadIsRiddenOut() throws Exception {
        AtomicBoolean outage = new AtomicBoolean();
        AtomicBoolean away = new AtomicBoolean();
        long[] outageAt = {0};
        List<Integer> stepsWhileAway = java.util.Collections.synchronizedList(new java.util.ArrayList<>());
        ActivityEnvironment.Faults faults = new ActivityEnvironment.Faults() {
            @Override
            public void afterStep(String stage, int attempt, int step) {
                if (away.get()) {
                    stepsWhileAway.add(step);
                }
                // the store goes away just before the checkpoint of step 4 is uploaded, for 30 s
                if (stage.equals("stage1") && step == 4 && outage.compareAndSet(false, true)) {
                    try {
                        s3.goAway();
                    } catch (Exception e) {
                        throw new IllegalStateException(e);
                    }
                    away.set(true);
                    outageAt[0] = System.nanoTime();
                    Thread back = new Thread(() -> {
                        try {
                            Thread.sleep(30_000);
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
        double outageSeconds = (System.nanoTime() - outageAt[0]) / 1e9;
        assertThat(outage.get()).isTrue();
        assertThat(outageSeconds).isGreaterThanOrEqualTo(30);
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
