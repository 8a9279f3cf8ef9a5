package dev.tract.workflows;

import dev.tract.workflows.Values.ShardOutcome;
import dev.tract.workflows.Values.ShardsInput;
import dev.tract.workflows.Values.ShardsTally;
import io.temporal.workflow.Async;
import io.temporal.workflow.Promise;
import io.temporal.workflow.Workflow;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;

/** See {@link ShardsWorkflow}. Deterministic: no I/O, no clock, decisions from the input and activity results. */
public class ShardsWorkflowImpl implements ShardsWorkflow {
    /**
     * A run stops scheduling shards once its history holds this many events, lets the shards in flight finish and
     * continues as new: with a window of 100 shards (about 6 events each) a run stays under 5,000 events.
     */
    static final long CONTINUE_AFTER_EVENTS = 4_000;

    private ShardsTally tally = ShardsTally.NONE;
    private int total;

    @Override
    public Values.ShardsOutcome run(ShardsInput in) {
        if (in.manifestKey() == null) {
            in = new ShardsInput(in.pipelineId(), in.artifactRoot(), in.gpuQueue(), in.cpuQueue(),
                    in.heartbeatTimeoutSeconds(), in.cots(), in.eval(), in.dataDigest(), in.count(), in.shardSize(),
                    in.window(), in.next(), in.tally(), "manifests/" + CacheKeys.of(Workflow.getInfo().getWorkflowId(),
                    Workflow.getInfo().getFirstExecutionRunId()), in.manifestUri());
        }
        tally = in.tally();
        total = (in.count() + in.shardSize() - 1) / in.shardSize();
        GpuActivities gpu = Workflow.newActivityStub(GpuActivities.class,
                TractPipelineWorkflowImpl.gpuOptions(in.gpuQueue(), in.heartbeatTimeoutSeconds()));
        CpuActivities cpu = Workflow.newActivityStub(CpuActivities.class,
                TractPipelineWorkflowImpl.cpuOptions(in.cpuQueue(), in.heartbeatTimeoutSeconds()));
        List<Promise<ShardOutcome>> inflight = new ArrayList<>();
        List<ShardOutcome> done = new ArrayList<>();
        int next = in.next();
        while (next < total && Workflow.getInfo().getHistoryLength() < CONTINUE_AFTER_EVENTS) {
            if (inflight.size() >= in.window()) {
                finishOne(inflight, done);
                continue;
            }
            inflight.add(start(gpu, in, next));
            next++;
        }
        while (!inflight.isEmpty()) {
            finishOne(inflight, done);
        }
        String manifest = in.manifestUri();
        if (!done.isEmpty()) {
            // in shard order, whatever order they finished in: stage 2 reads its data in this order
            done.sort(java.util.Comparator.comparingInt(ShardOutcome::shard));
            manifest = cpu.writeManifestPart(new Values.ManifestPart(in.artifactRoot(), in.manifestKey(),
                    tally.runs(), done.stream().map(ShardOutcome::uri).toList()));
        }
        tally = tally.endRun(Workflow.getInfo().getHistoryLength());
        if (next < total) {
            Workflow.continueAsNew(in.next(next, tally, manifest));
        }
        return new Values.ShardsOutcome(manifest, tally);
    }

    private static Promise<ShardOutcome> start(GpuActivities gpu, ShardsInput in, int shard) {
        int from = shard * in.shardSize();
        int to = Math.min(in.count(), from + in.shardSize());
        if (in.cots() != null) {
            Values.CotShardRequest t = in.cots();
            String key = CacheKeys.of("cots", t.modelDigest(), in.dataDigest(), t.generation(), t.maxLength(),
                    t.template(), t.seed(), from, to);
            return Async.function(gpu::generateCots, new Values.CotShardRequest(t.pipelineId(), key, shard, from, to,
                    t.modelUri(), t.modelDigest(), t.dataUri(), t.generation(), t.maxLength(), t.template(),
                    t.seed(), t.artifactRoot(), in.dataDigest()));
        }
        Values.EvalShardRequest t = in.eval();
        String key = CacheKeys.of("eval", t.modelDigest(), in.dataDigest(), t.mode(), t.nCot(), t.generation(),
                t.maxLength(), t.template(), t.seed(), from, to);
        return Async.function(gpu::evaluateShard, new Values.EvalShardRequest(t.pipelineId(), key, t.evalSet(),
                shard, from, to, t.modelUri(), t.modelDigest(), t.dataUri(), t.mode(), t.nCot(), t.generation(),
                t.maxLength(), t.template(), t.seed(), t.artifactRoot(), in.dataDigest()));
    }

    /** Waits for a shard in flight to finish and counts every finished one; a failed shard fails the stage. */
    private void finishOne(List<Promise<ShardOutcome>> inflight, List<ShardOutcome> done) {
        Promise.anyOf(inflight).get();
        for (Iterator<Promise<ShardOutcome>> it = inflight.iterator(); it.hasNext(); ) {
            Promise<ShardOutcome> p = it.next();
            if (p.isCompleted()) {
                ShardOutcome o = p.get();
                tally = tally.plus(o);
                done.add(o);
                it.remove();
            }
        }
    }

    @Override
    public int[] shards() {
        return new int[] {tally.shardsDone(), total};
    }
}
