package dev.tract.judge.train;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDScope;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import dev.tract.judge.JudgeInputException;
import dev.tract.judge.data.JudgeExample;
import dev.tract.judge.model.Lora;
import dev.tract.judge.model.LlamaModel;
import dev.tract.judge.runtime.EngineThreads;
import dev.tract.judge.runtime.GradMode;
import dev.tract.judge.tokenizer.JudgeTokenizer;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.BooleanSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The training loop: AdamW, warm-up then cosine decay, gradient clipping and accumulation, length-bucketed padded
 * batches, full or LoRA fine-tuning. The data order is a function of (seed, epoch) and dropout is seeded from
 * (seed, step), so on the CPU a run that checkpoints, dies and resumes in a new process ends with bit-identical
 * weights to one that never stopped. A stop request finishes the current step, checkpoints and returns.
 *
 * <p>Runs on several threads of one process train side by side, each with the result it would have alone: gradients
 * are recorded per thread ({@link GradMode}), and the forward passes that draw dropout masks take the process's one
 * random generator in turn.
 */
public final class Trainer {
    private static final Logger LOG = LoggerFactory.getLogger(Trainer.class);
    /** Held while a step seeds libtorch's process-wide generator and draws its dropout masks. */
    private static final Object RANDOM = new Object();

    private final LlamaModel model;
    private final TrainConfig config;
    private final List<EncodedExample> data;
    private final Losses losses;
    private final long padId;
    private final TrainListener listener;
    private final Map<String, NDArray> trainable;
    private final String digest;

    public Trainer(LlamaModel model, JudgeTokenizer tokenizer, ExampleEncoder encoder, TrainConfig config,
                   List<EncodedExample> data, TrainListener listener) {
        if (data.isEmpty()) {
            throw new JudgeInputException("training data", null, "no examples to train on");
        }
        this.model = model;
        this.config = config;
        this.data = List.copyOf(data);
        this.padId = tokenizer.padId();
        this.listener = listener;
        this.losses = new Losses(model, config.objective(), config.lambda(), config.renormalize(),
                encoder.scoreTokens());
        this.digest = digest(model, config, data);
        if (config.lora() != null) {
            if (model.lora() == null) {
                model.attachLora(Lora.init(model, config.lora(), config.seed()));
            }
            trainable = model.lora().parameters();
        } else {
            trainable = model.parameters();
        }
        trainable.values().forEach(p -> p.setRequiresGradient(true));
    }

    /**
     * The identity of this run (config, data, starting weights): a checkpoint resumes only a run with the same one.
     */
    public String configDigest() {
        return digest;
    }

    /** Encodes examples for an objective: with their first feedback, or none for the objectives without CoT. */
    public static List<EncodedExample> encode(List<JudgeExample> examples, ExampleEncoder encoder,
                                              Objective objective) {
        List<EncodedExample> out = new ArrayList<>(examples.size());
        for (JudgeExample e : examples) {
            if (objective.usesFeedback() && e.feedbacks().isEmpty()) {
                throw new JudgeInputException("record " + e.id(), "feedbacks", "objective " + objective.id()
                        + " trains on feedback and this record has none");
            }
            out.add(encoder.encode(e, objective.usesFeedback() ? e.feedback() : "", e.goldScore()));
        }
        return out;
    }

    /** The number of optimizer steps this config makes over this data. */
    public int totalSteps() {
        return totalSteps(config.steps(), config.epochs(), config.batchSize(), config.gradAccumulation(), data.size());
    }

    /** Optimizer steps: {@code steps} when positive, else {@code epochs} over the batches, per accumulation. */
    public static int totalSteps(int steps, double epochs, int batchSize, int gradAccumulation, int examples) {
        if (steps > 0) {
            return steps;
        }
        int batches = new Batcher(new int[examples], batchSize, 0).batchesPerEpoch();
        return Math.max(1, (int) Math.ceil(epochs * batches / gradAccumulation));
    }

    /**
     * Trains, resuming from the newest valid checkpoint under {@code checkpointDir} when {@code resume} is set.
     *
     * @param stop polled after every step; when it returns true the run checkpoints and returns
     */
    public TrainResult run(Path checkpointDir, boolean resume, BooleanSupplier stop) throws IOException {
        Checkpointer checkpointer = new Checkpointer(checkpointDir, config.keepCheckpoints());
        int total = totalSteps();
        LrSchedule schedule = LrSchedule.of(config.lr(), config.warmupRatio(), total);
        AdamW adam = new AdamW(trainable, model.manager(), 0.9, 0.999, 1e-8, config.weightDecay());
        boolean dropout = model.lora() != null && model.lora().config().dropout() > 0;
        int[] lengths = data.stream().mapToInt(EncodedExample::length).toArray();
        Batcher batcher = new Batcher(lengths, config.batchSize(), config.seed());
        int threads = EngineThreads.pin();
        TrainerState state = new TrainerState(0, total, 0, 0, 0, 0, config.seed(), digest, Double.NaN, 0, threads);
        int resumedFrom = 0;
        Path lastCheckpoint = null;
        if (resume) {
            Optional<Checkpointer.Restored> restored = checkpointer.latestValid();
            if (restored.isPresent()) {
                Checkpointer.Restored r = restored.get();
                if (!digest.equals(r.state().configDigest())) {
                    throw new JudgeInputException(r.dir().toString(), "config_digest", "this checkpoint belongs "
                            + "to a run with other data, model or settings; use a new checkpoint folder");
                }
                try (GradMode ignored = GradMode.disabled()) {
                    trainable.forEach((k, p) -> p.set(r.params().get(k)));
                }
                adam.restore(r.optimizer(), r.state().step());
                state = r.state();
                resumedFrom = state.step();
                if (state.engineThreads() > 0 && state.engineThreads() != threads && !model.manager().getDevice()
                        .isGpu()) {
                    LOG.warn("resuming with {} engine threads a run checkpointed with {}: sums split over threads "
                            + "differ, so the result will not be bit-identical to an uninterrupted run; set {}={} to "
                            + "match", threads, state.engineThreads(), EngineThreads.ENV, state.engineThreads());
                }
                lastCheckpoint = r.dir();
                listener.onResume(resumedFrom, r.dir());
                LOG.info("resumed at step {} from {}", resumedFrom, r.dir());
            }
        }
        long start = System.nanoTime();
        double elapsedBefore = state.elapsedSeconds();
        double lastCheckpointAt = 0;
        long tokensThisRun = 0;
        int epoch = state.epoch();
        int cursor = state.batchInEpoch();
        List<int[]> batches = batcher.epoch(epoch);
        Engine engine = Engine.getInstance();
        int step = state.step();
        long examplesSeen = state.examplesSeen();
        long tokensSeen = state.tokensSeen();
        double loss = state.lastLoss();
        boolean stopped = false;
        while (step < total) {
            long t0 = System.nanoTime();
            double stepLoss = 0;
            double stepCe = 0;
            double stepRaft = 0;
            int stepTokens = 0;
            for (int micro = 0; micro < config.gradAccumulation(); micro++) {
                int[] idx = batches.get(cursor);
                cursor++;
                if (cursor == batches.size()) {
                    epoch++;
                    cursor = 0;
                    batches = batcher.epoch(epoch);
                }
                List<EncodedExample> rows = new ArrayList<>(idx.length);
                for (int i : idx) {
                    rows.add(data.get(i));
                }
                TrainBatch batch = TrainBatch.of(rows, padId, config.objective());
                try (NDScope scope = new NDScope(); GradMode recording = GradMode.recording()) {
                    scope.suppressNotUsedWarning();
                    Losses.Parts parts;
                    if (dropout) {
                        // libtorch has one random generator per process: the seed and the masks drawn from it are
                        // taken together, so a training beside this one cannot shift them
                        synchronized (RANDOM) {
                            engine.setRandomSeed((int) (config.seed() * 1_000_003L + step * 131L + micro));
                            parts = losses.compute(batch, true);
                        }
                    } else {
                        parts = losses.compute(batch, true);
                    }
                    NDArray scaled = config.gradAccumulation() > 1
                            ? parts.total().div((float) config.gradAccumulation()) : parts.total();
                    GradMode.backward(scaled);
                    stepLoss += parts.total().getFloat() / config.gradAccumulation();
                    stepCe += parts.ce() == null ? Double.NaN : parts.ce().getFloat() / config.gradAccumulation();
                    stepRaft += parts.raft() == null ? Double.NaN
                            : parts.raft().getFloat() / config.gradAccumulation();
                }
                stepTokens += batch.realTokens();
                examplesSeen += idx.length;
            }
            double gradNorm;
            double lr = schedule.lr(step);
            try (GradMode ignored = GradMode.disabled()) {
                gradNorm = clipGradients(config.maxGradNorm());
                adam.step(lr);
                trainable.values().forEach(p -> JniUtils.zeroGrad((PtNDArray) p));
            }
            step++;
            loss = stepLoss;
            tokensSeen += stepTokens;
            tokensThisRun += stepTokens;
            double stepSeconds = (System.nanoTime() - t0) / 1e9;
            listener.onStep(new StepMetrics(step, total, stepLoss, stepCe, stepRaft, lr, gradNorm,
                    stepTokens / stepSeconds, stepSeconds));
            double now = (System.nanoTime() - start) / 1e9;
            stopped = stop.getAsBoolean();
            boolean due = step == total || stopped
                    || (config.checkpointEverySteps() > 0 && step % config.checkpointEverySteps() == 0)
                    || (config.checkpointEverySeconds() > 0 && now - lastCheckpointAt >= config.checkpointEverySeconds());
            if (due) {
                state = new TrainerState(step, total, epoch, cursor, examplesSeen, tokensSeen, config.seed(), digest,
                        loss, elapsedBefore + now, threads);
                lastCheckpoint = checkpointer.save(state, trainable, adam.state());
                lastCheckpointAt = now;
                listener.onCheckpoint(step, lastCheckpoint);
            }
            if (stopped) {
                break;
            }
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        return new TrainResult(step, total, stopped && step < total, resumedFrom, loss, seconds, tokensThisRun,
                seconds > 0 ? tokensThisRun / seconds : 0, lastCheckpoint);
    }

    /** Scales gradients so that their global L2 norm is at most {@code max}; returns the norm before clipping. */
    private double clipGradients(double max) {
        try (NDScope scope = new NDScope()) {
            scope.suppressNotUsedWarning();
            NDList squares = new NDList();
            for (NDArray p : trainable.values()) {
                // each parameter's squares freed at once: the sums are kept, not a copy of every gradient
                NDArray sum;
                try (NDScope one = new NDScope()) {
                    one.suppressNotUsedWarning();
                    sum = p.getGradient().square().sum();
                    NDScope.unregister(sum);
                }
                NDScope.register(sum);
                squares.add(sum);
            }
            double norm = Math.sqrt(NDArrays.stack(squares).sum().getFloat());
            double coef = max / (norm + 1e-6);
            if (coef < 1) {
                for (NDArray p : trainable.values()) {
                    p.getGradient().muli((float) coef);
                }
            }
            return norm;
        }
    }

    /** Identifies a run: the config, the encoded data and the initial trainable weights. */
    private String digest(LlamaModel m, TrainConfig c, List<EncodedExample> examples) {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            // checkpoint frequency and retention do not change the result, so they are not part of the identity
            String identity = String.join("|", c.objective().id(), String.valueOf(c.steps()),
                    String.valueOf(c.epochs()), String.valueOf(c.lr()), String.valueOf(c.lambda()),
                    String.valueOf(c.batchSize()), String.valueOf(c.gradAccumulation()), String.valueOf(c.maxLength()),
                    String.valueOf(c.warmupRatio()), String.valueOf(c.weightDecay()), String.valueOf(c.maxGradNorm()),
                    String.valueOf(c.renormalize()), String.valueOf(c.lora()), String.valueOf(c.seed()),
                    c.template().id());
            md.update(identity.getBytes(StandardCharsets.UTF_8));
            for (EncodedExample e : examples) {
                md.update(e.id().getBytes(StandardCharsets.UTF_8));
                ByteBuffer b = ByteBuffer.allocate(8 * e.ids().length + 16);
                for (long id : e.ids()) {
                    b.putLong(id);
                }
                b.putDouble(e.gold()).putInt(e.scoreIndex()).putInt(e.promptLength());
                md.update(b.array());
            }
            for (Map.Entry<String, NDArray> p : m.parameters().entrySet()) {
                md.update(p.getKey().getBytes(StandardCharsets.UTF_8));
                md.update(p.getValue().toByteBuffer());
            }
            return HexFormat.of().formatHex(md.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
