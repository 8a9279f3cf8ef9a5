package dev.tract.worker;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tract.workflows.CpuActivities;
import dev.tract.workflows.GpuActivities;
import dev.tract.workflows.Pipelines;
import dev.tract.workflows.ShardsWorkflowImpl;
import dev.tract.workflows.TractPipelineWorkflowImpl;
import dev.tract.workflows.Values;
import dev.tract.workflows.spec.PipelineSpec;
import dev.tract.workflows.spec.SpecParser;
import io.temporal.activity.Activity;
import io.temporal.client.WorkflowClient;
import io.temporal.testing.TestWorkflowEnvironment;
import io.temporal.worker.Worker;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A week-long pipeline at the size of our users' (100K training examples, two long training stages, 2,000 CoT
 * shards), with activities that simulate the work: the history of every workflow run stays small, whatever the
 * pipeline's length and size. Training reports its progress through heartbeats (10,000 per stage here, a step
 * every 17 s for 48 h), which never enter the history.
 */
class LongPipelineTest {
    static final int TRAIN = 100_000;
    static final int TEST = 5_000;
    static final int SHARD = 50;

    @TempDir
    Path tmp;
    TestWorkflowEnvironment env;
    final AtomicInteger inFlight = new AtomicInteger();
    final AtomicInteger maxInFlight = new AtomicInteger();
    final AtomicInteger shardsRun = new AtomicInteger();
    final AtomicReference<Values.ReportRequest> report = new AtomicReference<>();
    final AtomicReference<List<String>> stage2Data = new AtomicReference<>();

    @AfterEach
    void stop() {
        if (env != null) {
            env.close();
        }
    }

    class SimulatedGpu implements GpuActivities {
        @Override
        public Values.TrainOutcome train(Values.TrainRequest r) {
            int steps = 10_000;
            for (int s = 1; s <= steps; s++) {
                Activity.getExecutionContext().heartbeat(new Values.TrainHeartbeat(s - s % 500, null, s,
                        System.currentTimeMillis(), r.stage(), steps, 1.0 / s, 17.3, 1));
            }
            if (r.stage().equals("stage2")) {
                stage2Data.set(r.dataUris());
            }
            return new Values.TrainOutcome(r.stage(), r.cacheKey(), "sim://" + r.stage(), "digest-" + r.stage(),
                    steps, steps, 0.1, 48 * 3600, 1000, 1, 0, 0, 0, 0, false, null, 0);
        }

        private Values.ShardOutcome shard(String uri, int shard, int count) {
            int now = inFlight.incrementAndGet();
            maxInFlight.accumulateAndGet(now, Math::max);
            try {
                Thread.sleep(5);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            inFlight.decrementAndGet();
            shardsRun.incrementAndGet();
            return new Values.ShardOutcome(uri, shard, count, 60, false, new Values.CotQuality(count, count, 0, 0, 0));
        }

        @Override
        public Values.ShardOutcome generateCots(Values.CotShardRequest r) {
            return shard("sim://cots/" + r.cacheKey(), r.shard(), r.to() - r.from());
        }

        @Override
        public Values.ShardOutcome evaluateShard(Values.EvalShardRequest r) {
            return shard("sim://eval/" + r.cacheKey(), r.shard(), r.to() - r.from());
        }
    }

    class SimulatedCpu implements CpuActivities {
        final AtomicInteger manifestUris = new AtomicInteger();

        @Override
        public Values.PreparedData prepareData(Values.PipelineInput input) {
            return new Values.PreparedData("sim://train", "train-digest", TRAIN, List.of(new Values.PreparedEvalSet(
                    "sim", "sim://test", "test-digest", TEST)), "sim://seed", "seed-digest", 1);
        }

        @Override
        public Values.TrackingRuns startTracking(Values.TrackingRequest request) {
            return new Values.TrackingRuns("none", null, Map.of(), Map.of(), 0);
        }

        @Override
        public String writeManifestPart(Values.ManifestPart part) {
            manifestUris.addAndGet(part.uris().size());
            return Values.MANIFEST + "sim://" + part.key();
        }

        @Override
        public Values.EvalOutcome aggregateEval(Values.EvalAggregateRequest r) {
            return new Values.EvalOutcome(r.evalSet(), "sim://predictions", null, TEST, 0, 0.9, 0.9, 0.8, 0.4,
                    Map.of(), 1, null);
        }

        @Override
        public Values.PipelineResult report(Values.ReportRequest r) {
            report.set(r);
            return new Values.PipelineResult(r.pipelineId(), r.state(), "sim://report", r.stages(), r.evals(),
                    r.wallSeconds(), 0, Map.of(), 0, null);
        }
    }

    @Test
    void aPipelineOf100kExamplesAnd2000ShardsKeepsEveryHistoryUnder10000Events() throws Exception {
        env = TestWorkflowEnvironment.newInstance();
        WorkflowClient client = env.getWorkflowClient();
        Worker cpu = env.newWorker(WorkerConfig.CPU_QUEUE);
        cpu.registerWorkflowImplementationTypes(TractPipelineWorkflowImpl.class, ShardsWorkflowImpl.class);
        SimulatedCpu cpuActivities = new SimulatedCpu();
        cpu.registerActivitiesImplementations(cpuActivities);
        env.newWorker(WorkerConfig.GPU_QUEUE).registerActivitiesImplementations(new SimulatedGpu());
        env.start();
        Files.writeString(tmp.resolve("train.jsonl"), "");
        Files.writeString(tmp.resolve("test.jsonl"), "");
        PipelineSpec spec = SpecParser.parse("""
                name: week
                seed_model: {preset: tiny}
                train_data: train.jsonl
                eval_sets: [{name: sim, data: test.jsonl}]
                method: tract
                stage1: {steps: 10000}
                stage2: {steps: 10000}
                shard_size: %d
                artifact_root: runs
                """.formatted(SHARD), tmp, "runs");

        Pipelines.start(client, spec, "week");
        Values.PipelineResult r = Pipelines.result(client, "week");

        assertThat(r.state()).isEqualTo("COMPLETED");
        assertThat(shardsRun.get()).isEqualTo(TRAIN / SHARD + TEST / SHARD);
        assertThat(cpuActivities.manifestUris.get()).as("every shard file listed in a manifest")
                .isEqualTo(TRAIN / SHARD + TEST / SHARD);
        assertThat(stage2Data.get()).as("stage 2 reads a manifest, not a list that grows with the data")
                .hasSize(1).allSatisfy(u -> assertThat(u).startsWith(Values.MANIFEST));
        assertThat(maxInFlight.get()).as("shards in flight").isLessThanOrEqualTo(100);
        Values.StageSummary cots = r.stages().stream().filter(s -> s.name().equals("cots")).findFirst().orElseThrow();
        assertThat(cots.steps()).isEqualTo(TRAIN);

        long pipelineEvents = client.fetchHistory("week").getEvents().size();
        long cotsLastRun = client.fetchHistory("week.cots").getEvents().size();
        Values.HistoryFigures h = report.get().history();
        System.out.printf("long pipeline: %d training examples, %d CoT shards, %d eval shards; pipeline history %d "
                + "events; largest run of any workflow %d events; stage runs continued as new %d; CoT stage's last "
                + "run %d events; shards in flight at most %d%n", TRAIN, TRAIN / SHARD, TEST / SHARD, pipelineEvents,
                h.largestEvents(), h.runsContinued(), cotsLastRun, maxInFlight.get());
        assertThat(pipelineEvents).isLessThan(200);
        assertThat(h.largestEvents()).isLessThan(10_000);
        assertThat(h.runsContinued()).as("the CoT stage continued as new").isPositive();
    }
}
