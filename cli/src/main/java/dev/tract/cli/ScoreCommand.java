package dev.tract.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tract.judge.JudgeInputException;
import dev.tract.judge.data.Datasets;
import dev.tract.judge.data.JudgeExample;
import dev.tract.judge.generate.GenerationConfig;
import dev.tract.judge.metrics.Correlations;
import dev.tract.judge.score.ScoreConfig;
import dev.tract.judge.score.ScoreMode;
import dev.tract.judge.score.ScoredExample;
import dev.tract.judge.score.Scorer;
import dev.tract.workflows.spec.SpecParser;
import java.io.BufferedWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "score", mixinStandardHelpOptions = true,
        description = "Score a dataset with a judge. Writes JSONL: id, gold, prediction, predictions, feedbacks, "
                + "probabilities (p(1)..p(5)), dropped; prints the correlations.")
final class ScoreCommand implements Callable<Integer> {
    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Mixin
    ModelOptions modelOptions;

    @Option(names = "--data", required = true, description = "dataset (any supported shape)")
    Path data;

    @Option(names = "--mode", defaultValue = "cot-rail", description = "cot-rail, rail or decode (default: ${DEFAULT-VALUE})")
    String mode;

    @Option(names = "--n-cot", description = "feedbacks per example (default 1; 0 with decode = no feedback)")
    Integer nCot;

    @Option(names = "--max-new-tokens", defaultValue = "1024", description = "default: ${DEFAULT-VALUE}")
    int maxNewTokens;

    @Option(names = "--temperature", defaultValue = "1.0", description = "default: ${DEFAULT-VALUE}")
    double temperature;

    @Option(names = "--top-p", defaultValue = "0.9", description = "default: ${DEFAULT-VALUE}")
    double topP;

    @Option(names = "--repetition-penalty", defaultValue = "1.03", description = "default: ${DEFAULT-VALUE}")
    double repetitionPenalty;

    @Option(names = "--renormalize", description = "renormalise p over the five scores")
    boolean renormalize;

    @Option(names = "--batch-size", defaultValue = "8", description = "default: ${DEFAULT-VALUE}")
    int batchSize;

    @Option(names = "--seed", defaultValue = "0", description = "default: ${DEFAULT-VALUE}")
    long seed;

    @Option(names = "--out", required = true, description = "predictions (JSONL)")
    Path out;

    @Option(names = "--json", description = "print {out, mode, seconds, metrics} as one JSON object")
    boolean json;

    @Override
    public Integer call() throws Exception {
        ScoreMode m = ScoreMode.named(mode);
        int n = nCot != null ? nCot : (m == ScoreMode.RAIL ? 0 : 1);
        int budget = modelOptions.maxLength - maxNewTokens - SpecParser.GENERATION_SUFFIX;
        if (m != ScoreMode.RAIL && n > 0 && budget < SpecParser.MIN_PROMPT_TOKENS) {
            throw new JudgeInputException("--max-length", "max_length", modelOptions.maxLength + " leaves " + budget
                    + " tokens for the prompt after --max-new-tokens " + maxNewTokens + " and the "
                    + SpecParser.GENERATION_SUFFIX + " tokens of the score suffix; use --max-length of at least "
                    + (maxNewTokens + SpecParser.GENERATION_SUFFIX + SpecParser.MIN_PROMPT_TOKENS)
                    + " or a smaller --max-new-tokens");
        }
        GenerationConfig sampling = new GenerationConfig(maxNewTokens, true, temperature, 0, topP, repetitionPenalty,
                List.of("[RESULT]"), seed, true);
        ScoreConfig config = new ScoreConfig(m, n, sampling, renormalize, batchSize, seed);
        List<JudgeExample> examples = Datasets.load(data);
        try (ModelOptions.Loaded loaded = modelOptions.load()) {
            Scorer scorer = new Scorer(loaded.model(), loaded.tokenizer(), loaded.encoder());
            Progress progress = new Progress(spec.commandLine().getErr(), "score");
            long start = System.nanoTime();
            List<ScoredExample> scored = scorer.score(examples, config, done -> progress.update(done,
                    examples.size(), ""));
            double seconds = (System.nanoTime() - start) / 1e9;
            Path parent = out.toAbsolutePath().getParent();
            Files.createDirectories(parent);
            try (BufferedWriter w = Files.newBufferedWriter(out, StandardCharsets.UTF_8)) {
                for (ScoredExample s : scored) {
                    w.write(Json.MAPPER.writer().without(com.fasterxml.jackson.databind.SerializationFeature
                            .INDENT_OUTPUT).writeValueAsString(s.toJson()));
                    w.write('\n');
                }
            }
            Correlations.Report report = Correlations.compute(scored.stream().map(ScoredExample::gold).toList(),
                    scored.stream().map(ScoredExample::prediction).toList(), Correlations.DEFAULT_RESAMPLES, seed);
            ObjectNode o = Json.object();
            o.put("out", out.toString());
            o.put("mode", m.id());
            o.put("n_cot", n);
            o.put("seconds", seconds);
            o.put("examples_per_s", examples.size() / seconds);
            o.set("metrics", CorrelateCommand.toJson(report));
            if (json) {
                Json.print(spec.commandLine().getOut(), o);
            } else {
                spec.commandLine().getOut().printf("%s on %d examples in %.1f s: pearson %.3f spearman %.3f kendall "
                        + "%.3f rmse %.3f (dropped %d) -> %s%n", m.id(), examples.size(), seconds, report.pearson(),
                        report.spearman(), report.kendall(), report.rmse(), report.nDropped(), out);
            }
        }
        return 0;
    }
}
