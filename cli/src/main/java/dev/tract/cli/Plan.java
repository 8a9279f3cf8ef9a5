package dev.tract.cli;

import dev.tract.judge.JudgeInputException;
import dev.tract.judge.data.Datasets;
import dev.tract.judge.data.JudgeExample;
import dev.tract.judge.data.PromptTemplate;
import dev.tract.judge.model.LlamaConfig;
import dev.tract.judge.model.LoraConfig;
import dev.tract.judge.model.MemoryEstimate;
import dev.tract.judge.tokenizer.JudgeTokenizer;
import dev.tract.judge.tokenizer.ScoreTokens;
import dev.tract.judge.train.Batcher;
import dev.tract.judge.train.EncodedExample;
import dev.tract.judge.train.ExampleEncoder;
import dev.tract.judge.train.Objective;
import dev.tract.judge.train.Trainer;
import dev.tract.workflows.spec.Method;
import dev.tract.workflows.spec.PipelineSpec;
import dev.tract.workflows.spec.SpecParser;
import java.net.URI;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * What each stage of a pipeline will do and need, worked out before anything runs: the stage's examples, tokens
 * and optimizer steps from the data as the seed model's tokenizer encodes it, peak device memory from
 * {@link MemoryEstimate}, time from throughputs, and for a stage that does not fit, the settings that would.
 */
final class Plan {
    /** Throughputs of one worker, in tokens per second (training: tokens trained; generation: new tokens). */
    record Throughput(double trainTokensPerS, double generateTokensPerS, String source) {}

    /** One stage. Tokens are real (not padding); newTokens only for generating stages. */
    record Stage(String name, String kind, int examples, long tokens, long paddedTokens, int steps, long newTokens,
                 int longest, MemoryEstimate memory, double seconds, List<String> notes, List<String> fits) {
        boolean fitsIn(long bytes) {
            return memory.total() <= bytes;
        }
    }

    private Plan() {}

    /** The spec's stages, planned for a device of {@code deviceBytes} with {@code runtime} bytes held by the engine. */
    static List<Stage> stages(PipelineSpec spec, List<JudgeExample> train, LlamaConfig config, JudgeTokenizer tok,
                              long deviceBytes, long runtime, int generationRows, int workers, Throughput speed) {
        Method method = spec.methodEnum();
        List<Stage> out = new ArrayList<>();
        PromptTemplate template = PromptTemplate.named(spec.template());
        ScoreTokens scores = ScoreTokens.detect(tok);
        double feedbackTokens = meanFeedbackTokens(train, tok, spec.generation().maxNewTokens());
        if (method.trains()) {
            out.add(train("stage1", spec.stage1(), Objective.named(method.stage1Objective()), train, config, tok,
                    scores, template, spec.seed(), deviceBytes, runtime, speed, List.of()));
            if (method.twoStages()) {
                ExampleEncoder enc = new ExampleEncoder(tok, scores, template, spec.stage2().maxLength());
                out.add(generate("cots", train, 1, enc, spec, config, feedbackTokens, deviceBytes, runtime,
                        generationRows, workers, speed, List.of("one CoT per training example, as long as the "
                                + "annotated feedbacks on average")));
                out.add(train("stage2", spec.stage2(), Objective.named(method.stage2Objective()), train, config,
                        tok, scores, template, spec.seed(), deviceBytes, runtime, speed,
                        List.of("the CoTs are assumed as long as the annotated feedbacks")));
            }
        }
        for (PipelineSpec.EvalSet set : spec.evalSets()) {
            List<JudgeExample> data = load(set.data(), "eval_sets." + set.name() + ".data", true);
            ExampleEncoder enc = new ExampleEncoder(tok, scores, template, spec.stage1().maxLength());
            int nCot = method.cot() ? Math.max(1, spec.nCot()) : 0;
            double perFeedback = train.isEmpty() ? meanFeedbackTokens(data, tok, spec.generation().maxNewTokens())
                    : feedbackTokens;
            out.add(generate("eval/" + set.name(), data, nCot, enc, spec, config, perFeedback, deviceBytes, runtime,
                    generationRows, workers, speed, nCot == 0 ? List.of("one scoring pass per example (rail)")
                            : List.of(nCot + " feedback(s) per example, then the score (cot-rail)")));
        }
        return out;
    }

    private static Stage train(String name, PipelineSpec.Stage h, Objective objective, List<JudgeExample> data,
                               LlamaConfig config, JudgeTokenizer tok, ScoreTokens scores, PromptTemplate template,
                               long seed, long deviceBytes, long runtime, Throughput speed,
                               List<String> moreNotes) {
        ExampleEncoder enc = new ExampleEncoder(tok, scores, template, h.maxLength());
        List<EncodedExample> encoded = Trainer.encode(data, enc, objective);
        int n = encoded.size();
        int steps = Trainer.totalSteps(h.steps(), h.epochs(), h.batchSize(), h.gradAccumulation(), n);
        int[] lengths = encoded.stream().mapToInt(EncodedExample::length).toArray();
        // the batches the trainer will draw: same batcher, same seed
        Batcher batcher = new Batcher(lengths, h.batchSize(), seed);
        long real = 0;
        long padded = 0;
        int micro = steps * h.gradAccumulation();
        List<int[]> epoch = null;
        for (int k = 0; k < micro; k++) {
            if (k % batcher.batchesPerEpoch() == 0) {
                epoch = batcher.epoch(k / batcher.batchesPerEpoch());
            }
            int[] idx = epoch.get(k % batcher.batchesPerEpoch());
            int longest = 0;
            for (int i : idx) {
                real += lengths[i];
                longest = Math.max(longest, lengths[i]);
            }
            padded += (long) longest * idx.length;
        }
        int longest = java.util.Arrays.stream(lengths).max().orElse(0);
        int target = encoded.stream().mapToInt(e -> e.length() - e.promptLength()).max().orElse(0);
        LoraConfig lora = lora(h.lora());
        MemoryEstimate mem = MemoryEstimate.training(config, lora, h.batchSize(), longest,
                (long) h.batchSize() * target, runtime);
        double seconds = speed == null ? Double.NaN : real / speed.trainTokensPerS();
        List<String> notes = new ArrayList<>();
        notes.add(objective.id() + ", batch " + h.batchSize() + " x " + h.gradAccumulation() + " accumulated, "
                + (lora == null ? "full fine-tuning" : "LoRA rank " + lora.rank()) + ", longest example " + longest
                + " of max_length " + h.maxLength());
        notes.addAll(moreNotes);
        List<String> fits = mem.total() <= deviceBytes ? List.of()
                : trainingFixes(name, h, config, lora, longest, target, deviceBytes, runtime);
        return new Stage(name, "train", n, real, padded, steps, 0, longest, mem, seconds, notes, fits);
    }

    private static Stage generate(String name, List<JudgeExample> data, int nCot, ExampleEncoder enc,
                                  PipelineSpec spec, LlamaConfig config, double perFeedback, long deviceBytes,
                                  long runtime, int rows, int workers, Throughput speed, List<String> notes) {
        int maxNew = spec.generation().maxNewTokens();
        int reserve = nCot == 0 ? 0 : maxNew + SpecParser.GENERATION_SUFFIX;
        long promptTokens = 0;
        int longest = 0;
        for (JudgeExample e : data) {
            int len = enc.prompt(e, reserve).ids().length;
            promptTokens += len;
            longest = Math.max(longest, len);
        }
        int samples = Math.max(1, nCot);
        long newTokens = nCot == 0 ? 0 : Math.round(data.size() * (double) samples * perFeedback);
        MemoryEstimate mem = MemoryEstimate.generation(config, rows, longest, nCot == 0 ? 0 : maxNew, runtime);
        int shards = Math.max(1, (data.size() + spec.shardSize() - 1) / spec.shardSize());
        int parallel = Math.max(1, Math.min(workers, shards));
        double seconds = Double.NaN;
        if (speed != null) {
            // a scoring pass is a forward pass: about a third of a training step's work per token
            double score = (promptTokens * samples + newTokens) / (3 * speed.trainTokensPerS());
            seconds = (newTokens / speed.generateTokensPerS() + score) / parallel;
        }
        List<String> n = new ArrayList<>(notes);
        n.add(shards + " shard(s) of " + spec.shardSize() + " on " + parallel + " worker(s), " + rows
                + " rows, longest prompt " + longest);
        List<String> fits = mem.total() <= deviceBytes ? List.of()
                : generationFixes(config, rows, longest, maxNew, nCot, deviceBytes, runtime);
        return new Stage(name, nCot == 0 ? "score" : "generate", data.size(), promptTokens * samples,
                promptTokens * samples, 0, newTokens, longest, mem, seconds, n, fits);
    }

    /** Settings under which a training stage that does not fit would, one per way out. */
    private static List<String> trainingFixes(String name, PipelineSpec.Stage h, LlamaConfig config, LoraConfig lora,
                                              int longest, int target, long deviceBytes, long runtime) {
        List<String> fixes = new ArrayList<>();
        int effective = h.batchSize() * h.gradAccumulation();
        for (int b = h.batchSize() / 2; b >= 1; b /= 2) {
            MemoryEstimate m = MemoryEstimate.training(config, lora, b, longest, (long) b * target, runtime);
            if (m.total() <= deviceBytes) {
                fixes.add(String.format("%s.batch_size %d with grad_accumulation %d (the same %d examples per step): "
                        + "%s", name, b, Math.max(1, effective / b), effective, Sizes.format(m.total())));
                break;
            }
        }
        if (lora == null) {
            for (int r : new int[] {64, 16, 8}) {
                LoraConfig l = LoraConfig.allLinear(r, 2.0 * r, 0.05);
                for (int b = h.batchSize(); b >= 1; b /= 2) {
                    MemoryEstimate m = MemoryEstimate.training(config, l, b, longest, (long) b * target, runtime);
                    if (m.total() <= deviceBytes) {
                        fixes.add(String.format("%s.lora {rank: %d, targets: all-linear}%s: %s", name, r,
                                b == h.batchSize() ? "" : String.format(" with batch_size %d, grad_accumulation %d",
                                        b, Math.max(1, effective / b)), Sizes.format(m.total())));
                        r = 0;
                        break;
                    }
                }
                if (r == 0) {
                    break;
                }
            }
        }
        for (int len = longest - longest / 8; len >= 64; len -= Math.max(1, longest / 8)) {
            MemoryEstimate m = MemoryEstimate.training(config, lora, h.batchSize(), len,
                    (long) h.batchSize() * Math.min(target, len), runtime);
            if (m.total() <= deviceBytes) {
                fixes.add(String.format("%s.max_length %d (examples longer than that are cut): %s", name, len,
                        Sizes.format(m.total())));
                break;
            }
        }
        if (fixes.isEmpty()) {
            fixes.add("no batch size, LoRA rank or max_length makes " + name + " fit: the weights alone take "
                    + Sizes.format(MemoryEstimate.training(config, lora, 1, 1, 1, runtime).weights())
                    + "; use a device with more memory");
        }
        return fixes;
    }

    private static List<String> generationFixes(LlamaConfig config, int rows, int longest, int maxNew, int nCot,
                                                long deviceBytes, long runtime) {
        List<String> fixes = new ArrayList<>();
        int generating = nCot == 0 ? 0 : maxNew;
        for (int r = rows / 2; r >= 1; r /= 2) {
            MemoryEstimate m = MemoryEstimate.generation(config, r, longest, generating, runtime);
            if (m.total() <= deviceBytes) {
                fixes.add(String.format("TRACT_GENERATION_BATCH=%d on the workers: %s", r, Sizes.format(m.total())));
                break;
            }
        }
        if (nCot > 0) {
            for (int t = maxNew / 2; t >= 16; t /= 2) {
                MemoryEstimate m = MemoryEstimate.generation(config, rows, longest, t, runtime);
                if (m.total() <= deviceBytes) {
                    fixes.add(String.format("generation.max_new_tokens %d: %s", t, Sizes.format(m.total())));
                    break;
                }
            }
        }
        if (fixes.isEmpty()) {
            fixes.add("no generation batch or max_new_tokens makes this stage fit; use a device with more memory");
        }
        return fixes;
    }

    static LoraConfig lora(PipelineSpec.Lora l) {
        return l == null || l.rank() == 0 ? null : new LoraConfig(l.rank(), l.alpha(), l.dropout(), l.targets(),
                false);
    }

    /** Mean token length of the first annotated feedback of each example, at most {@code cap}; cap when none. */
    static double meanFeedbackTokens(List<JudgeExample> data, JudgeTokenizer tok, int cap) {
        long sum = 0;
        int n = 0;
        for (JudgeExample e : data) {
            if (!e.feedbacks().isEmpty()) {
                sum += Math.min(cap, tok.encode(e.feedback(), false).length);
                n++;
            }
        }
        return n == 0 ? cap : (double) sum / n;
    }

    /** A data file the plan reads here: a path or a file: URI. */
    static List<JudgeExample> load(String location, String field, boolean goldOptional) {
        return Datasets.load(local(location, field, "give a local copy of the data in the spec to plan it"),
                goldOptional);
    }

    static Path local(String location, String field, String hint) {
        if (!location.contains("://")) {
            return Path.of(location);
        }
        if (location.startsWith("file:")) {
            return Path.of(URI.create(location));
        }
        throw new JudgeInputException(location, field, "plan reads files on this machine, and this is "
                + location.substring(0, location.indexOf("://") + 3) + "; " + hint);
    }
}
