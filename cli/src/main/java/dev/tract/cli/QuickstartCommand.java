package dev.tract.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tract.judge.data.CanonicalJson;
import dev.tract.judge.data.SyntheticTask;
import dev.tract.worker.EmbeddedTemporal;
import dev.tract.worker.TractWorker;
import dev.tract.worker.WorkerConfig;
import dev.tract.workflows.Pipelines;
import dev.tract.workflows.Values;
import dev.tract.workflows.spec.PipelineSpec;
import dev.tract.workflows.spec.SpecParser;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "quickstart", mixinStandardHelpOptions = true,
        description = "Run the whole TRACT method through Temporal on this machine: Temporal's test server, a worker "
                + "and a local artifact folder; the synthetic judge task; stage 1, CoT self-generation, stage 2 and "
                + "CoT-RAIL evaluation with a small model. Prints stage durations and the results table.")
final class QuickstartCommand implements Callable<Integer> {
    /** Methods of --compare, in the order of the table. */
    static final List<String> COMPARED = List.of("tract", "stage1-only", "ce-cot", "ce-score", "raft");

    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Option(names = "--compare", description = "also run the baselines (stage1-only, ce-cot, ce-score, raft) and "
            + "print them side by side")
    boolean compare;

    @Option(names = "--runs", defaultValue = "tract-runs", description = "artifact folder (default: ${DEFAULT-VALUE})")
    Path runs;

    @Option(names = "--preset", defaultValue = "mini", description = "model preset (default: ${DEFAULT-VALUE})")
    String preset;

    @Option(names = "--train", defaultValue = "1000", description = "synthetic training examples (default: "
            + "${DEFAULT-VALUE})")
    int trainN;

    @Option(names = "--test", defaultValue = "200", description = "synthetic test examples (default: ${DEFAULT-VALUE})")
    int testN;

    @Option(names = "--steps", defaultValue = "500", description = "optimizer steps per training stage (default: "
            + "${DEFAULT-VALUE})")
    int steps;

    @Option(names = "--seed", defaultValue = "0", description = "default: ${DEFAULT-VALUE}")
    long seed;

    @Option(names = "--json", description = "print the summary as one JSON object")
    boolean json;

    static String specYaml(String method, String preset, int steps, long seed, Path train, Path test, Path runs) {
        return """
                name: quickstart-%s
                seed_model: {preset: %s, seed: %d}
                train_data: %s
                eval_sets:
                  - {name: synthetic, data: %s}
                method: %s
                stage1: {steps: %d, lr: 0.003, batch_size: 16, max_length: 320}
                stage2: {steps: %d, lr: 0.003, batch_size: 16, max_length: 320}
                generation: {max_new_tokens: 112}
                checkpoint: {every_steps: 100, every_seconds: 60}
                shard_size: 500
                artifact_root: %s
                seed: %d
                """.formatted(method, preset, seed, train, test, method, steps, steps, runs.toUri(), seed);
    }

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        Path root = runs.toAbsolutePath().normalize();
        Path data = root.resolve("quickstart-data");
        Files.createDirectories(data);
        Path train = data.resolve("train-" + trainN + "-seed1.jsonl");
        Path test = data.resolve("test-" + testN + "-seed2.jsonl");
        CanonicalJson.write(train, SyntheticTask.generate(trainN, 1));
        CanonicalJson.write(test, SyntheticTask.generate(testN, 2));
        List<String> methods = compare ? COMPARED : List.of("tract");
        List<Values.PipelineResult> results = new ArrayList<>();
        long start = System.nanoTime();
        WorkerConfig config = WorkerConfig.defaults("embedded").withWorkDir(root.resolve("work"));
        config = new WorkerConfig(config.temporalAddress(), config.namespace(), config.taskQueues(), 1,
                config.workDir(), config.device(), 16, Duration.ofSeconds(60));
        try (EmbeddedTemporal temporal = EmbeddedTemporal.start(0);
             TractWorker worker = TractWorker.on(temporal.client(), config)) {
            worker.start();
            err.printf("tract quickstart: Temporal test server on %s, artifacts in %s%n", temporal.address(), root);
            PipelineWatcher watcher = new PipelineWatcher(temporal.client(), err);
            for (String method : methods) {
                PipelineSpec s = SpecParser.parse(specYaml(method, preset, steps, seed, train, test, root), root,
                        root.toUri().toString());
                String id = Pipelines.newId(s);
                Pipelines.start(temporal.client(), s, id);
                results.add(watcher.follow(id));
            }
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        ObjectNode summary = Json.object();
        summary.put("seconds", seconds);
        summary.put("runs", root.toString());
        ArrayNode pipelines = summary.putArray("pipelines");
        for (int i = 0; i < results.size(); i++) {
            ObjectNode p = Json.MAPPER.valueToTree(results.get(i));
            p.put("method", methods.get(i));
            pipelines.add(p);
        }
        Json.MAPPER.writeValue(root.resolve("quickstart-summary.json").toFile(), summary);
        if (json) {
            Json.print(out, summary);
        } else {
            for (int i = 0; i < results.size(); i++) {
                out.printf("%n== %s: %s ==%n", methods.get(i), results.get(i).pipelineId());
                Tables.stages(out, results.get(i));
            }
            out.println();
            Tables.metrics(out, methods, results);
            out.printf("%nquickstart finished in %.1f s; report: %s%n", seconds,
                    results.get(results.size() - 1).reportUri().replace("report.json", "report.html"));
            out.flush();
        }
        return 0;
    }
}
