package dev.tract.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tract.judge.data.CanonicalJson;
import dev.tract.judge.data.SyntheticTask;
import dev.tract.workflows.Values;
import dev.tract.workflows.spec.PipelineSpec;
import dev.tract.workflows.spec.SpecParser;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
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
    static final List<String> COMPARED = List.of("tract", "stage1-only", "ce-cot", "ce-score", "raft",
            "ce-both-stages");

    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Option(names = "--compare", description = "also run the baselines (stage1-only, ce-cot, ce-score, raft, "
            + "ce-both-stages) and TRACT scored by decoding, and print them side by side")
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

    @Option(names = "--steps", defaultValue = "700", description = "optimizer steps per training stage (default: "
            + "${DEFAULT-VALUE})")
    int steps;

    @Option(names = "--task", defaultValue = "checklist", description = "built-in task: checklist (rules stated in "
            + "the prompt) or recall (facts to memorise) (default: ${DEFAULT-VALUE})")
    String task;

    @Option(names = "--seed", defaultValue = "0", description = "first seed (default: ${DEFAULT-VALUE})")
    long seed;

    @Option(names = "--seeds", defaultValue = "1", description = "seeds per method: seed, seed+1, ... (default: "
            + "${DEFAULT-VALUE})")
    int seeds;

    @Option(names = "--json", description = "print the summary as one JSON object")
    boolean json;

    static String specYaml(String method, String preset, int steps, long seed, Path train, Path test, Path runs) {
        return specYaml(method, preset, steps, seed, train, test, runs, "rail");
    }

    static String specYaml(String method, String preset, int steps, long seed, Path train, Path test, Path runs,
                           String scoring) {
        return """
                name: quickstart-%s
                scoring: %s
                seed_model: {preset: %s, seed: %d}
                train_data: %s
                eval_sets:
                  - {name: synthetic, data: %s}
                method: %s
                stage1: {steps: %d, lr: 0.003, batch_size: 16, max_length: 320}
                stage2: {steps: %d, lr: 0.003, batch_size: 16, max_length: 320}
                generation: {max_new_tokens: 96}
                checkpoint: {every_steps: 100, every_seconds: 60}
                shard_size: 500
                artifact_root: %s
                seed: %d
                """.formatted(method, scoring, preset, seed, train, test, method, steps, steps, runs.toUri(), seed);
    }

    /** The runs of the comparison, with each judge's predictions on the first evaluation set, read from the store. */
    static List<Comparison.Run> comparisonRuns(List<String> labels, List<Values.PipelineResult> results)
            throws IOException {
        List<Comparison.Run> runs = new ArrayList<>();
        for (int i = 0; i < labels.size(); i++) {
            String[] methodSeed = labels.get(i).split("#");
            Values.EvalOutcome eval = results.get(i).evals().get(0);
            runs.add(new Comparison.Run(methodSeed[0], methodSeed.length > 1 ? Long.parseLong(methodSeed[1]) : 0,
                    eval, predictions(eval.predictionsUri())));
        }
        return runs;
    }

    /** id -> {gold, prediction} of a predictions.jsonl in a local artifact folder (prediction NaN when dropped). */
    static Map<String, double[]> predictions(String uri) throws IOException {
        Map<String, double[]> out = new LinkedHashMap<>();
        for (String line : Files.readAllLines(Path.of(URI.create(uri)))) {
            if (line.isBlank()) {
                continue;
            }
            JsonNode n = Json.MAPPER.readTree(line);
            out.put(n.get("id").asText(), new double[] {n.get("gold").asDouble(),
                n.get("prediction").isNull() ? Double.NaN : n.get("prediction").asDouble()});
        }
        return out;
    }

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        Path root = runs.toAbsolutePath().normalize();
        Path data = root.resolve("quickstart-data");
        Files.createDirectories(data);
        SyntheticTask builtIn = SyntheticTask.named(task);
        Path train = data.resolve(builtIn.id() + "-train-" + trainN + "-seed1.jsonl");
        Path test = data.resolve(builtIn.id() + "-test-" + testN + "-seed2.jsonl");
        CanonicalJson.write(train, builtIn.examples(trainN, 1));
        CanonicalJson.write(test, builtIn.examples(testN, 2));
        List<String> methods = compare ? COMPARED : List.of("tract");
        List<Values.PipelineResult> results = new ArrayList<>();
        List<String> labels = new ArrayList<>();
        long start = System.nanoTime();
        try (EmbeddedRunner runner = new EmbeddedRunner(root.resolve("work"), err)) {
            err.printf("tract quickstart: Temporal test server on %s, artifacts in %s%n", runner.address(), root);
            for (int k = 0; k < seeds; k++) {
                long runSeed = seed + k;
                List<String[]> runs = new ArrayList<>();
                methods.forEach(m -> runs.add(new String[] {m, "rail"}));
                if (compare) {
                    // the same TRACT judge scored by decoding: its stages are cached, only evaluation runs again
                    runs.add(new String[] {"tract", "decode"});
                }
                for (String[] run : runs) {
                    PipelineSpec s = SpecParser.parse(specYaml(run[0], preset, steps, runSeed, train, test, root,
                            run[1]), root, root.toUri().toString());
                    results.add(runner.run(s, true));
                    labels.add(run[0] + (run[1].equals("decode") ? "/decode" : "") + (seeds > 1 ? "#" + runSeed
                            : ""));
                }
            }
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        ObjectNode summary = Json.object();
        summary.put("seconds", seconds);
        summary.put("runs", root.toString());
        ArrayNode pipelines = summary.putArray("pipelines");
        for (int i = 0; i < results.size(); i++) {
            ObjectNode p = Json.MAPPER.valueToTree(results.get(i));
            p.put("method", labels.get(i));
            pipelines.add(p);
        }
        if (compare || seeds > 1) {
            summary.set("comparison", Comparison.summarize(comparisonRuns(labels, results)));
        }
        Json.MAPPER.writeValue(root.resolve("quickstart-summary.json").toFile(), summary);
        if (json) {
            Json.print(out, summary);
        } else {
            for (int i = 0; i < results.size(); i++) {
                out.printf("%n== %s: %s ==%n", labels.get(i), results.get(i).pipelineId());
                Tables.stages(out, results.get(i));
            }
            out.println();
            Tables.metrics(out, labels, results);
            if (compare || seeds > 1) {
                out.println();
                Comparison.print(out, summary.get("comparison"));
            }
            out.printf("%nquickstart finished in %.1f s; report: %s%n", seconds,
                    results.get(results.size() - 1).reportUri().replace("report.json", "report.html"));
            out.flush();
        }
        return 0;
    }
}
