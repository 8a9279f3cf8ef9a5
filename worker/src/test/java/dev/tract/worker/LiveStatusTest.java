package dev.tract.worker;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tract.activities.ActivityEnvironment;
import dev.tract.workflows.Pipelines;
import dev.tract.workflows.Values;
import dev.tract.workflows.spec.PipelineSpec;
import io.temporal.client.WorkflowClient;
import io.temporal.testing.TestWorkflowEnvironment;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Predicate;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What `tract status` and the API say of a running pipeline, read from the server without growing its history. */
class LiveStatusTest {
    @TempDir
    Path tmp;
    TestWorkflowEnvironment env;
    WorkflowClient client;

    void start(List<String> queues, ActivityEnvironment.Faults faults) {
        env = TestWorkflowEnvironment.newInstance();
        client = env.getWorkflowClient();
        WorkerConfig config = WorkerConfig.defaults("test").withWorkDir(tmp.resolve("work")).withTaskQueues(queues);
        TractWorker.register(env.getWorkerFactory(), config, new ActivityEnvironment(client, config.workDir(), "cpu",
                new AtomicBoolean(), 8, faults));
        env.start();
    }

    @AfterEach
    void stop() {
        System.clearProperty("tract.waitNoticeSeconds");
        if (env != null) {
            env.close();
        }
    }

    private Values.Progress await(String id, Predicate<Values.Progress> until) throws InterruptedException {
        long deadline = System.currentTimeMillis() + 60_000;
        Values.Progress p = null;
        while (System.currentTimeMillis() < deadline) {
            try {
                p = Pipelines.progress(client, id);
                if (until.test(p)) {
                    return p;
                }
            } catch (RuntimeException e) {
                // not started yet
            }
            Thread.sleep(200);
        }
        throw new AssertionError("status never matched; last: " + p);
    }

    @Test
    void trainingProgressComesFromHeartbeatsAndAddsNoHistory() throws Exception {
        CountDownLatch seen3 = new CountDownLatch(1);
        CountDownLatch seen7 = new CountDownLatch(1);
        start(List.of(WorkerConfig.GPU_QUEUE, WorkerConfig.CPU_QUEUE), (stage, attempt, step) -> {
            try {
                if (stage.equals("stage1") && step == 3) {
                    seen3.await(60, TimeUnit.SECONDS);
                }
                if (stage.equals("stage1") && step == 7) {
                    seen7.await(60, TimeUnit.SECONDS);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        PipelineSpec spec = PipelineFixture.spec(tmp, "stage1-only", 16, 8);
        Pipelines.start(client, spec, "live");
        Values.Progress at3 = await("live", p -> p.stage().equals("stage1") && p.step() == 3);
        seen3.countDown();
        Values.Progress at7 = await("live", p -> p.stage().equals("stage1") && p.step() == 7);
        seen7.countDown();
        assertThat(at3.totalSteps()).isEqualTo(8);
        assertThat(at7.loss()).isNotNull().isPositive();
        assertThat(at7.remainingSeconds()).isNotNull();
        assertThat(at3.historyEvents()).isPositive();
        assertThat(at7.historyEvents()).as("four steps and two checkpoints add no history events")
                .isEqualTo(at3.historyEvents());
        assertThat(at7.waiting()).isNull();
        assertThat(Pipelines.result(client, "live").state()).isEqualTo("COMPLETED");
    }

    @Test
    void aPipelineWithNoGpuWorkerSaysWhatItWaitsFor() throws Exception {
        System.setProperty("tract.waitNoticeSeconds", "1");
        start(List.of(WorkerConfig.CPU_QUEUE), ActivityEnvironment.Faults.NONE);
        PipelineSpec spec = PipelineFixture.spec(tmp, "tract", 8);
        Pipelines.start(client, spec, "no-gpu");
        Values.Progress p = await("no-gpu", q -> q.waiting() != null);
        assertThat(p.stage()).isEqualTo("stage1");
        assertThat(p.waiting()).startsWith("waiting for a worker on queue tract-gpu since ").contains("(Train)");
    }
}
