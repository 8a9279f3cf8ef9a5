package dev.tract.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tract.workflows.Values;
import dev.tract.workflows.spec.PipelineSpec;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "chaos", mixinStandardHelpOptions = true,
        description = "Run a small pipeline on worker processes and SIGKILL them at random moments; a new worker "
                + "resumes each time. Prints the tally: kills survived, work lost, time to resume, and whether the "
                + "judge and its metrics equal those of an uninterrupted run.")
final class ChaosCommand implements Callable<Integer> {
    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Option(names = "--kills", defaultValue = "5", description = "default: ${DEFAULT-VALUE}")
    int kills;

    @Option(names = "--seed", defaultValue = "0", description = "chooses the kill moments (default: ${DEFAULT-VALUE})")
    long seed;

    @Option(names = "--dir", defaultValue = "tract-runs/chaos", description = "working folder, beside the "
            + "quickstart's runs (default: ${DEFAULT-VALUE})")
    Path dir;

    @Option(names = "--json", description = "print the tally as one JSON object")
    boolean json;

    /** Whether two runs scored every evaluation set identically (values and intervals). */
    static boolean sameMetrics(Values.PipelineResult a, Values.PipelineResult b) {
        if (a.evals().size() != b.evals().size()) {
            return false;
        }
        for (int i = 0; i < a.evals().size(); i++) {
            Values.EvalOutcome x = a.evals().get(i);
            Values.EvalOutcome y = b.evals().get(i);
            if (x.n() != y.n() || x.nDropped() != y.nDropped() || !java.util.Objects.equals(x.pearson(), y.pearson())
                    || !java.util.Objects.equals(x.spearman(), y.spearman())
                    || !java.util.Objects.equals(x.kendall(), y.kendall())
                    || !java.util.Objects.equals(x.rmse(), y.rmse()) || !x.ci().equals(y.ci())) {
                return false;
            }
        }
        return true;
    }

    @Override
    public Integer call() throws Exception {
        PrintWriter err = spec.commandLine().getErr();
        Random rnd = new Random(seed);
        try (ChaosHarness h = new ChaosHarness(dir.resolve("run-" + System.currentTimeMillis()))) {
            err.println("chaos: uninterrupted reference run...");
            Values.PipelineResult baseline = h.baseline(h.spec("runs-baseline"));
            PipelineSpec chaosSpec = h.spec("runs-chaos");
            String id = h.start(chaosSpec, "chaos-" + seed);
            Process worker = h.startWorker(Map.of());
            int done = 0;
            for (int k = 0; k < kills; k++) {
                double delay = 3 + rnd.nextDouble() * 9;
                Thread.sleep((long) (delay * 1000));
                Values.Progress p = h.progress(id);
                if (!"RUNNING".equals(p.state())) {
                    break;
                }
                ChaosHarness.kill(worker);
                done++;
                err.printf("chaos: kill %d after %.1f s during %s (step %d/%d, shards %d/%d)%n", done, delay, p.stage(),
                        p.step(), p.totalSteps(), p.shardsDone(), p.shardsTotal());
                worker = h.startWorker(Map.of());
            }
            Values.PipelineResult r = h.result(id);
            boolean sameJudge = ChaosHarness.judgeDigest(r).equals(ChaosHarness.judgeDigest(baseline));
            boolean sameMetrics = sameMetrics(r, baseline);
            int maxLost = r.stages().stream().mapToInt(Values.StageSummary::lostSteps).max().orElse(0);
            double maxLostSeconds = r.stages().stream().mapToDouble(Values.StageSummary::lostSeconds).max().orElse(0);
            double wait = r.stages().stream().mapToDouble(Values.StageSummary::resumeWaitSeconds).sum();
            int resumes = r.stages().stream().mapToInt(Values.StageSummary::resumes).sum();
            ObjectNode o = Json.object();
            o.put("kills_tried", done);
            o.put("kills_survived", "COMPLETED".equals(r.state()) ? done : 0);
            o.put("training_resumes", resumes);
            o.put("max_lost_steps", maxLost);
            o.put("max_lost_seconds", maxLostSeconds);
            o.put("resume_wait_seconds_total", wait);
            o.put("same_judge_weights", sameJudge);
            o.put("same_metrics", sameMetrics);
            o.put("pipeline", r.pipelineId());
            if (json) {
                Json.print(spec.commandLine().getOut(), o);
            } else {
                spec.commandLine().getOut().printf("kills survived %d/%d; training resumes %d; largest loss %d step(s), "
                        + "%.1f s of compute; time from a kill to the resume, summed: %.1f s; judge weights %s, "
                        + "metrics %s the uninterrupted run's%n", o.get("kills_survived").asInt(), done, resumes,
                        maxLost, maxLostSeconds, wait, sameJudge ? "equal" : "DIFFER FROM", sameMetrics ? "equal"
                                : "DIFFER FROM");
            }
            return sameJudge && sameMetrics && "COMPLETED".equals(r.state()) ? 0 : TractCli.EXIT_FAILURE;
        }
    }
}
