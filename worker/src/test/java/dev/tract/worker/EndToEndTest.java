package dev.tract.worker;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tract.workflows.Pipelines;
import dev.tract.workflows.Values;
import dev.tract.workflows.spec.PipelineSpec;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A tiny pipeline through Temporal's standalone test server on a real port, with a worker polling it. */
class EndToEndTest {
    @TempDir
    Path tmp;

    @Test
    void tinyPipelineRunsThroughTheStandaloneServer() throws Exception {
        PipelineSpec spec = PipelineFixture.spec(tmp, "tract", 16);
        try (EmbeddedTemporal temporal = EmbeddedTemporal.start(0);
             TractWorker worker = TractWorker.connect(WorkerConfig.defaults(temporal.address())
                     .withWorkDir(tmp.resolve("work")))) {
            worker.start();
            Pipelines.start(temporal.client(), spec, "e2e");
            List<String> stagesSeen = new ArrayList<>();
            Thread watcher = new Thread(() -> {
                while (!Thread.currentThread().isInterrupted()) {
                    try {
                        stagesSeen.add(Pipelines.progress(temporal.client(), "e2e").stage());
                        Thread.sleep(200);
                    } catch (InterruptedException e) {
                        return;
                    } catch (RuntimeException e) {
                        // not started yet
                    }
                }
            });
            watcher.start();
            Values.PipelineResult r = Pipelines.result(temporal.client(), "e2e");
            watcher.interrupt();
            watcher.join();
            assertThat(r.state()).isEqualTo("COMPLETED");
            assertThat(r.evals()).hasSize(1);
            // one worker, one activity at a time: the stages' compute fits inside the wall time (2% for the clocks)
            assertThat(r.computeSeconds()).isPositive();
            assertThat(r.wallSeconds()).isGreaterThanOrEqualTo(r.computeSeconds() * 0.98);
            assertThat(stagesSeen).as("progress answered while the pipeline ran").isNotEmpty();
            assertThat(Pipelines.progress(temporal.client(), "e2e").stagesDone()).extracting(Values.StageSummary::name)
                    .contains("stage1", "cots", "stage2", "eval");
            assertThat(Files.readString(tmp.resolve("runs/pipelines/e2e/report.html"))).contains("synthetic");
        }
    }
}
