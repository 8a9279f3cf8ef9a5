package dev.tract.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tract.workflows.Values;
import dev.tract.workflows.spec.PipelineSpec;
import dev.tract.workflows.spec.SpecParser;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "judge", mixinStandardHelpOptions = true,
        description = "Score a dataset with a trained judge, as a pipeline (method judge): sharded, cached and "
                + "resumable like every stage. Predictions (score, p(1)..p(5), feedbacks) go to the store; when the "
                + "data has gold scores, correlations, the report and tracking metrics too. Runs on this machine "
                + "like 'run', or through the API with --submit.")
final class JudgeCommand implements Callable<Integer> {
    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Option(names = "--model", required = true, description = "the judge: a model folder, an s3:// or file: URI, "
            + "or a registered MLflow model models:/<name>@<alias> (or models:/<name>/<version>)")
    String model;

    @Option(names = "--data", required = true, description = "the data to judge: a file (JSONL or JSON, any "
            + "supported shape; gold scores optional) or an s3:// URI")
    String data;

    @Option(names = "--name", description = "pipeline name (default: judge-<data file name>)")
    String name;

    @Option(names = "--n-cot", defaultValue = "1", description = "feedbacks sampled per example; the score is the "
            + "mean of their expected scores (default: ${DEFAULT-VALUE})")
    int nCot;

    @Option(names = "--template", defaultValue = "compact", description = "prompt template the judge was trained "
            + "with: compact or prometheus (default: ${DEFAULT-VALUE})")
    String template;

    @Option(names = "--max-length", defaultValue = "2048", description = "prompt plus feedback, in tokens (default: "
            + "${DEFAULT-VALUE})")
    int maxLength;

    @Option(names = "--max-new-tokens", defaultValue = "1024", description = "longest feedback (default: "
            + "${DEFAULT-VALUE})")
    int maxNewTokens;

    @Option(names = "--shard-size", defaultValue = "64", description = "examples per activity (default: "
            + "${DEFAULT-VALUE})")
    int shardSize;

    @Option(names = "--seed", defaultValue = "0", description = "sampling seed (default: ${DEFAULT-VALUE})")
    long seed;

    @Option(names = "--tracking-uri", description = "MLflow tracking server: where models:/ judges are looked up "
            + "and the run and its metrics are recorded (default: MLFLOW_TRACKING_URI, else files beside the "
            + "artifacts)")
    String trackingUri;

    @Option(names = "--experiment", defaultValue = "tract", description = "MLflow experiment (default: "
            + "${DEFAULT-VALUE})")
    String experiment;

    @Option(names = "--runs", defaultValue = "tract-runs", description = "artifact root on this machine (default: "
            + "${DEFAULT-VALUE}); with --submit the API's default root")
    Path runs;

    @Option(names = "--submit", description = "submit to the API (--api, --token) for the GPU workers instead of "
            + "running here")
    boolean submit;

    @Option(names = "--watch", description = "show the live progress while it runs (with --submit: follow it)")
    boolean watch;

    @Option(names = "--json", description = "print the result as one JSON object")
    boolean json;

    @Mixin
    ApiOptions api;

    /** The pipeline spec of this judging run (YAML). */
    String specYaml() {
        Path here = Path.of("").toAbsolutePath();
        String dataLocation = data.contains("://") ? data : here.resolve(data).normalize().toString();
        String seedModel = model.contains(":") && !Files.exists(Path.of(model)) ? "{uri: '" + model + "'}"
                : "{path: '" + here.resolve(model).normalize() + "'}";
        String setName = Path.of(data.replaceAll("^[a-z0-9]+://", "")).getFileName().toString()
                .replaceAll("\\.(jsonl|json)$", "").replaceAll("[^A-Za-z0-9._-]", "-");
        return """
                name: %s
                method: judge
                seed_model: %s
                eval_sets:
                  - {name: '%s', data: '%s'}
                n_cot: %d
                template: %s
                stage1: {max_length: %d}
                generation: {max_new_tokens: %d}
                shard_size: %d
                seed: %d
                tracking: {experiment: '%s'%s}
                """.formatted(name != null ? name : "judge-" + setName, seedModel, setName, dataLocation, nCot,
                template, maxLength, maxNewTokens, shardSize, seed, experiment,
                trackingUri == null ? "" : ", uri: '" + trackingUri + "'");
    }

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        if (!data.contains("://")) {
            // a local file is checked here first, so that its errors name the record and field at once
            dev.tract.judge.data.Datasets.load(Path.of(data), true);
        }
        String yaml = specYaml();
        Path root = runs.toAbsolutePath().normalize();
        PipelineSpec pipeline = SpecParser.parse(yaml, Path.of("").toAbsolutePath(), root.toUri().toString());
        if (submit) {
            return SubmitCommand.post(spec, api.client(), SpecParser.withAbsolutePaths(yaml,
                    Path.of("").toAbsolutePath()), watch, json);
        }
        Values.PipelineResult result;
        try (EmbeddedRunner runner = new EmbeddedRunner(root.resolve("work"), err)) {
            err.printf("tract judge: %s judges %s on Temporal's test server (%s), artifacts in %s%n", model, data,
                    runner.address(), pipeline.artifactRoot());
            err.flush();
            result = runner.run(pipeline, watch);
        }
        Values.EvalOutcome eval = result.evals().get(0);
        if (json) {
            ObjectNode o = Json.MAPPER.valueToTree(result);
            o.put("judged", judged(eval));
            Json.print(out, o);
            return 0;
        }
        out.printf("%njudged %d examples with %s: predictions %s%n", judged(eval), model, eval.predictionsUri());
        if (eval.pearson() != null) {
            out.println();
            Tables.metrics(out, List.of("judge"), List.of(result));
        } else {
            out.println("no gold scores in the data: no correlations");
        }
        out.printf("report: %s%n", result.reportUri().replace("report.json", "report.html"));
        out.flush();
        return 0;
    }

    /** Every example judged: those scored against gold plus those left out (no gold, or no prediction). */
    private static int judged(Values.EvalOutcome eval) {
        return eval.n() + eval.nDropped();
    }
}
