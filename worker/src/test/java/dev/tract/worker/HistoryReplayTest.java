package dev.tract.worker;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tract.workflows.ShardsWorkflowImpl;
import dev.tract.workflows.TractPipelineWorkflowImpl;
import io.temporal.common.WorkflowExecutionHistory;
import io.temporal.testing.WorkflowReplayer;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Safe upgrades: the histories of pipelines run by earlier releases (test resources under {@code histories/}) replay
 * with this release's workflow code, so a deploy does not fail the pipelines that are running. Every release adds
 * its own (the happy-path test writes them with {@code -Dtract.historiesOut=DIR}); an orchestration change that
 * would break them must be guarded with {@code Workflow.getVersion}.
 */
class HistoryReplayTest {

    @ParameterizedTest
    @ValueSource(strings = {"pipeline-tract-release-2026-12-01.json", "pipeline-tract-release-2026-12-02.json",
        "shards-cots-release-2026-12-02.json"})
    void aHistoryOfAnEarlierReleaseReplays(String name) throws Exception {
        WorkflowExecutionHistory history = WorkflowExecutionHistory.fromJson(read(name));
        assertThat(history.getEvents()).as("a stored history").hasSizeGreaterThan(10);
        WorkflowReplayer.replayWorkflowExecution(history, TractPipelineWorkflowImpl.class, ShardsWorkflowImpl.class);
    }

    private static String read(String name) throws IOException {
        try (InputStream in = HistoryReplayTest.class.getResourceAsStream("/histories/" + name)) {
            assertThat(in).as(name).isNotNull();
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }
}
