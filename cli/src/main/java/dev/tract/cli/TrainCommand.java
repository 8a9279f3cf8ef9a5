package dev.tract.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tract.judge.data.CanonicalJson;
import dev.tract.judge.data.Datasets;
import dev.tract.judge.data.JudgeExample;
import dev.tract.judge.model.Checkpoints;
import dev.tract.judge.model.LoraConfig;
import dev.tract.judge.train.EncodedExample;
import dev.tract.judge.train.Objective;
import dev.tract.judge.train.StepMetrics;
import dev.tract.judge.train.TrainConfig;
import dev.tract.judge.train.TrainListener;
import dev.tract.judge.train.TrainResult;
import dev.tract.judge.train.Trainer;
import java.io.BufferedWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "train", mixinStandardHelpOptions = true,
        description = "Fine-tune a judge on a dataset. Writes the trained model (HF layout; LoRA merged, adapter in "
                + "OUT/adapter), checkpoints in OUT/checkpoints and step metrics in OUT/metrics.jsonl. Ctrl-C or "
                + "SIGTERM finishes the current step, checkpoints and exits; --resume continues from there.")
final class TrainCommand implements Callable<Integer> {
    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Mixin
    ModelOptions modelOptions;

    @Option(names = "--data", required = true, description = "training data (any supported shape)")
    Path data;

    @Option(names = "--objective", defaultValue = "cot-raft",
            description = "cot-raft, ce, raft or ce-score (default: ${DEFAULT-VALUE})")
    String objective;

    @Option(names = "--out", required = true, description = "output directory")
    Path out;

    @Option(names = "--steps", defaultValue = "0", description = "optimizer steps (overrides --epochs)")
    int steps;

    @Option(names = "--epochs", defaultValue = "1", description = "default: ${DEFAULT-VALUE}")
    double epochs;

    @Option(names = "--lr", defaultValue = "1e-3", description = "peak learning rate (default: ${DEFAULT-VALUE})")
    double lr;

    @Option(names = "--lambda", defaultValue = "1.0", description = "weight of the RAFT loss (default: ${DEFAULT-VALUE})")
    double lambda;

    @Option(names = "--batch-size", defaultValue = "8", description = "default: ${DEFAULT-VALUE}")
    int batchSize;

    @Option(names = "--grad-accumulation", defaultValue = "1", description = "default: ${DEFAULT-VALUE}")
    int gradAccumulation;

    @Option(names = "--warmup-ratio", defaultValue = "0.1", description = "default: ${DEFAULT-VALUE}")
    double warmupRatio;

    @Option(names = "--weight-decay", defaultValue = "0.0", description = "default: ${DEFAULT-VALUE}")
    double weightDecay;

    @Option(names = "--max-grad-norm", defaultValue = "1.0", description = "default: ${DEFAULT-VALUE}")
    double maxGradNorm;

    @Option(names = "--renormalize", description = "RAFT over the five score tokens renormalised, not the full softmax")
    boolean renormalize;

    @Option(names = "--lora-rank", defaultValue = "0", description = "LoRA rank; 0 = full fine-tuning")
    int loraRank;

    @Option(names = "--lora-alpha", defaultValue = "0", description = "default: 2 x rank")
    double loraAlpha;

    @Option(names = "--lora-dropout", defaultValue = "0.05", description = "default: ${DEFAULT-VALUE}")
    double loraDropout;

    @Option(names = "--lora-targets", defaultValue = "all-linear", split = ",",
            description = "projections to adapt (default: ${DEFAULT-VALUE})")
    List<String> loraTargets;

    @Option(names = "--seed", defaultValue = "0", description = "default: ${DEFAULT-VALUE}")
    long seed;

    @Option(names = "--checkpoint-every", defaultValue = "50", description = "steps; 0 = only at the end")
    int checkpointEvery;

    @Option(names = "--checkpoint-every-seconds", defaultValue = "0", description = "0 = off")
    double checkpointEverySeconds;

    @Option(names = "--resume", description = "continue from the newest valid checkpoint in OUT/checkpoints")
    boolean resume;

    @Option(names = "--json", description = "print the final figures as one JSON object")
    boolean json;

    /** One line of metrics.jsonl, named as the tracking conventions name them. */
    static String metricsLine(StepMetrics m) throws java.io.IOException {
        ObjectNode o = Json.object();
        o.put("step", m.step());
        o.put("total_steps", m.totalSteps());
        putNumber(o, "loss", m.loss());
        putNumber(o, "ce_loss", m.ceLoss());
        putNumber(o, "raft_loss", m.raftLoss());
        o.put("lr", m.lr());
        putNumber(o, "grad_norm", m.gradNorm());
        o.put("tokens_per_s", m.tokensPerSecond());
        o.put("seconds", m.seconds());
        return Json.MAPPER.writer().without(com.fasterxml.jackson.databind.SerializationFeature.INDENT_OUTPUT)
                .writeValueAsString(o);
    }

    private static void putNumber(ObjectNode o, String k, double v) {
        if (Double.isNaN(v)) {
            o.putNull(k);
        } else {
            o.put(k, v);
        }
    }

    @Override
    public Integer call() throws Exception {
        Objective obj = Objective.named(objective);
        LoraConfig lora = loraRank > 0 ? new LoraConfig(loraRank, loraAlpha > 0 ? loraAlpha : 2.0 * loraRank,
                loraDropout, loraTargets, false) : null;
        TrainConfig config = new TrainConfig(obj, steps, epochs, lr, lambda, batchSize, gradAccumulation,
                modelOptions.maxLength, warmupRatio, weightDecay, maxGradNorm, renormalize, lora, seed,
                checkpointEvery, checkpointEverySeconds, 2,
                dev.tract.judge.data.PromptTemplate.named(modelOptions.template));
        List<JudgeExample> examples = Datasets.load(data);
        AtomicBoolean stop = new AtomicBoolean();
        CountDownLatch finished = new CountDownLatch(1);
        Thread hook = new Thread(() -> {
            stop.set(true);
            try {
                finished.await(120, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        Runtime.getRuntime().addShutdownHook(hook);
        try (ModelOptions.Loaded loaded = modelOptions.load()) {
            List<EncodedExample> encoded = Trainer.encode(examples, loaded.encoder(), obj);
            Files.createDirectories(out);
            Path metricsFile = out.resolve("metrics.jsonl");
            Progress progress = new Progress(spec.commandLine().getErr(), "train");
            TrainResult result;
            try (BufferedWriter metrics = Files.newBufferedWriter(metricsFile, StandardCharsets.UTF_8,
                    StandardOpenOption.CREATE, resume ? StandardOpenOption.APPEND
                            : StandardOpenOption.TRUNCATE_EXISTING)) {
                Trainer trainer = new Trainer(loaded.model(), loaded.tokenizer(), loaded.encoder(), config, encoded,
                        new TrainListener() {
                            @Override
                            public void onStep(StepMetrics m) {
                                progress.update(m.step(), m.totalSteps(), String.format("loss %.4f lr %.2e %.0f tok/s",
                                        m.loss(), m.lr(), m.tokensPerSecond()));
                                try {
                                    metrics.write(metricsLine(m) + "\n");
                                    metrics.flush();
                                } catch (java.io.IOException e) {
                                    throw new java.io.UncheckedIOException(e);
                                }
                            }
                        });
                result = trainer.run(out.resolve("checkpoints"), resume, stop::get);
            }
            if (!result.stopped()) {
                if (loaded.model().lora() != null) {
                    loaded.model().lora().save(out.resolve("adapter"), modelOptions.model.toString());
                    loaded.model().mergeLora();
                }
                Checkpoints.save(loaded.model(), out);
                loaded.tokenizer().copyTo(out);
            }
            ObjectNode o = Json.object();
            o.put("out", out.toString());
            o.put("objective", obj.id());
            o.put("steps", result.steps());
            o.put("total_steps", result.totalSteps());
            o.put("stopped", result.stopped());
            o.put("resumed_from", result.resumedFrom());
            o.put("loss", result.finalLoss());
            o.put("seconds", result.seconds());
            o.put("tokens", result.tokens());
            o.put("tokens_per_s", result.tokensPerSecond());
            o.put("examples", encoded.size());
            o.put("data_digest", CanonicalJson.digest(examples));
            // the most memory this process has held (compare with `tract plan`)
            o.put("peak_rss_mib", Bench.peakRssMiB());
            Json.MAPPER.writeValue(out.resolve("train_summary.json").toFile(), o);
            if (json) {
                Json.print(spec.commandLine().getOut(), o);
            } else {
                spec.commandLine().getOut().printf("%s %d/%d steps, loss %.4f, %.1f s, %.0f tokens/s -> %s%n",
                        result.stopped() ? "stopped at" : "trained", result.steps(), result.totalSteps(),
                        result.finalLoss(), result.seconds(), result.tokensPerSecond(), out);
            }
            return 0;
        } finally {
            finished.countDown();
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException e) {
                // the JVM is already shutting down
            }
        }
    }
}
