package dev.tract.cli;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tract.judge.data.JudgeExample;
import dev.tract.judge.data.PromptTemplate;
import dev.tract.judge.data.SyntheticTask;
import dev.tract.judge.generate.GenerationConfig;
import dev.tract.judge.generate.Generator;
import dev.tract.judge.model.Checkpoints;
import dev.tract.judge.model.LlamaModel;
import dev.tract.judge.model.ModelInit;
import dev.tract.judge.model.Preset;
import dev.tract.judge.score.ScoreConfig;
import dev.tract.judge.score.ScoreMode;
import dev.tract.judge.score.Scorer;
import dev.tract.judge.tokenizer.JudgeTokenizer;
import dev.tract.judge.tokenizer.ScoreTokens;
import dev.tract.judge.train.Batcher;
import dev.tract.judge.train.EncodedExample;
import dev.tract.judge.train.ExampleEncoder;
import dev.tract.judge.train.Objective;
import dev.tract.judge.train.StepMetrics;
import dev.tract.judge.train.TrainConfig;
import dev.tract.judge.train.TrainListener;
import dev.tract.judge.train.Trainer;
import dev.tract.worker.EmbeddedTemporal;
import dev.tract.worker.TractWorker;
import dev.tract.worker.WorkerConfig;
import dev.tract.workflows.Pipelines;
import dev.tract.workflows.Values;
import dev.tract.workflows.spec.PipelineSpec;
import dev.tract.workflows.spec.SpecParser;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

@Command(name = "bench", mixinStandardHelpOptions = true,
        description = "Measure this machine: train (tokens/s, ms per step, peak memory, FLOP/s against the measured "
                + "matmul peak), generate (new tokens/s, batch 1 and 8, with and without the KV cache, 256 new "
                + "tokens), score (examples/s for CoT-RAIL and RAIL), batching (static against continuous batching "
                + "with output lengths from 16 to 256) or pipeline (wall time through Temporal and "
                + "the share that is orchestration). Warm-up first, then repetitions; median and spread.")
final class BenchCommand implements Callable<Integer> {
    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Parameters(paramLabel = "WHAT", description = "train, generate, score, batching or pipeline")
    String what;

    @Option(names = "--preset", defaultValue = "small", description = "model preset (default: ${DEFAULT-VALUE})")
    String preset;

    @Option(names = "--repeats", defaultValue = "5", description = "measured repetitions (default: ${DEFAULT-VALUE})")
    int repeats;

    @Option(names = "--warmup", defaultValue = "2", description = "untimed repetitions first (default: "
            + "${DEFAULT-VALUE})")
    int warmup;

    @Option(names = "--json", description = "print the figures as one JSON object")
    boolean json;

    @Option(names = "--rows", defaultValue = "16", description = "batching: rows decoding together (default: "
            + "${DEFAULT-VALUE}); TRACT_GENERATION_STREAMS sets the decode streams they run as")
    int rows;

    @Override
    public Integer call() throws Exception {
        ObjectNode out = Json.object();
        out.put("benchmark", what);
        out.put("preset", preset);
        out.set("machine", Bench.machine());
        Path dir = Files.createTempDirectory("tract-bench");
        ObjectNode results = out.putObject("results");
        switch (what) {
            case "train" -> train(dir, results);
            case "generate" -> generate(dir, results);
            case "score" -> score(dir, results);
            case "batching" -> batching(dir, results);
            case "pipeline" -> pipeline(dir, results);
            default -> throw new dev.tract.judge.JudgeInputException("bench", "what", "'" + what
                    + "' is not train, generate, score, batching or pipeline");
        }
        if (json) {
            Json.print(spec.commandLine().getOut(), out);
        } else {
            var p = spec.commandLine().getOut();
            p.printf("%s on %s (%d cores), preset %s%n", what, out.at("/machine/cpu").asText(),
                    out.at("/machine/cores").asInt(), preset);
            results.fields().forEachRemaining(e -> p.printf("  %-32s %s%n", e.getKey(), e.getValue().isObject()
                    && e.getValue().has("median") ? String.format("%.4g %s (min %.4g, max %.4g)",
                    e.getValue().get("median").asDouble(), e.getValue().get("unit").asText(),
                    e.getValue().get("min").asDouble(), e.getValue().get("max").asDouble()) : e.getValue().toString()));
        }
        return 0;
    }

    private Path model(Path dir) throws Exception {
        Path m = dir.resolve("model");
        ModelInit.init(Preset.named(preset), m, 0, null);
        return m;
    }

    /** fp32 matmul throughput of the engine (2·n³ FLOP per n×n product), in GFLOP/s; the peak is the max. */
    static Bench.Stat matmulPeak(int warmup, int repeats) throws Exception {
        int n = 1024;
        try (NDManager m = NDManager.newBaseManager(Device.cpu())) {
            NDArray a = m.randomNormal(new Shape(n, n));
            NDArray b = m.randomNormal(new Shape(n, n));
            return Bench.measure("GFLOP/s", warmup, repeats, () -> {
                long t0 = System.nanoTime();
                try (NDScope s = new NDScope()) {
                    s.suppressNotUsedWarning();
                    for (int i = 0; i < 10; i++) {
                        a.matMul(b).toFloatArray();
                    }
                }
                return 10 * 2.0 * n * n * n / ((System.nanoTime() - t0) / 1e9) / 1e9;
            });
        }
    }

    private void train(Path dir, ObjectNode results) throws Exception {
        Path m = model(dir);
        try (LlamaModel model = Checkpoints.load(m, Device.cpu(), DataType.FLOAT32);
             JudgeTokenizer tok = JudgeTokenizer.load(m)) {
            ExampleEncoder enc = new ExampleEncoder(tok, ScoreTokens.detect(tok), PromptTemplate.COMPACT, 320);
            List<EncodedExample> data = Trainer.encode(SyntheticTask.generate(256, 3), enc, Objective.COT_RAFT);
            int stepsPerRun = 10;
            int runs = warmup + repeats;
            List<StepMetrics> steps = Collections.synchronizedList(new ArrayList<>());
            TrainConfig cfg = TrainConfig.defaults(Objective.COT_RAFT).withSteps(stepsPerRun * runs)
                    .withBatch(8, 1).withCheckpointEvery(0, 0);
            // memory after the warm-up steps against memory at the end: flat when nothing leaks per step
            double[] rss = new double[2];
            int[] live = new int[2];
            int warmSteps = warmup * stepsPerRun;
            new Trainer(model, tok, enc, cfg, data, new TrainListener() {
                @Override
                public void onStep(StepMetrics s) {
                    steps.add(s);
                    if (s.step() == Math.max(1, warmSteps) || s.step() == stepsPerRun * runs) {
                        int k = s.step() == stepsPerRun * runs ? 1 : 0;
                        rss[k] = Bench.rssMiB();
                        live[k] = model.manager().getManagedArrays().size();
                    }
                }
            }).run(dir.resolve("ck"), false, () -> false);
            // the batches the trainer drew (same batcher, same seed): their padded size is the work done
            Batcher batcher = new Batcher(data.stream().mapToInt(EncodedExample::length).toArray(), 8, cfg.seed());
            long[] padded = new long[steps.size()];
            for (int i = 0; i < padded.length; i++) {
                int[] idx = batcher.epoch(i / batcher.batchesPerEpoch()).get(i % batcher.batchesPerEpoch());
                padded[i] = (long) idx.length * Arrays.stream(idx).map(j -> data.get(j).length()).max().orElse(0);
            }
            double[] msPerStep = new double[repeats];
            double[] tokensPerS = new double[repeats];
            double[] paddedPerS = new double[repeats];
            long paddedTotal = 0;
            for (int r = 0; r < repeats; r++) {
                int from = (warmup + r) * stepsPerRun;
                List<StepMetrics> window = steps.subList(from, from + stepsPerRun);
                double seconds = window.stream().mapToDouble(StepMetrics::seconds).sum();
                double tokens = window.stream().mapToDouble(s -> s.tokensPerSecond() * s.seconds()).sum();
                long pad = Arrays.stream(padded, from, from + stepsPerRun).sum();
                paddedTotal += pad;
                msPerStep[r] = 1000 * seconds / stepsPerRun;
                tokensPerS[r] = tokens / seconds;
                paddedPerS[r] = pad / seconds;
            }
            Bench.Stat tps = new Bench.Stat("tokens/s", tokensPerS);
            long params = model.config().parameterCount();
            // best against best: a slower try of either only says that something else had the cores then
            Bench.Stat peak = matmulPeak(1, 7);
            double[] flops = Arrays.stream(tokensPerS).map(t -> 6.0 * params * t / 1e9).toArray();
            results.set("tokens_per_s", tps.toJson());
            results.set("padded_tokens_per_s", new Bench.Stat("tokens/s", paddedPerS).toJson());
            results.put("mean_padded_length", (double) paddedTotal / (repeats * stepsPerRun * 8));
            results.set("ms_per_step", new Bench.Stat("ms", msPerStep).toJson());
            results.set("achieved_gflops", new Bench.Stat("GFLOP/s", flops).toJson());
            results.set("matmul_peak_gflops", peak.toJson());
            results.put("achieved_over_peak", new Bench.Stat("", flops).max() / peak.max());
            results.put("parameters", params);
            results.put("batch", 8);
            results.put("peak_rss_mib", Bench.peakRssMiB());
            results.put("steps_measured", steps.size() - warmSteps);
            results.put("rss_after_warmup_mib", rss[0]);
            results.put("rss_at_end_mib", rss[1]);
            results.put("live_ndarrays_after_warmup", live[0]);
            results.put("live_ndarrays_at_end", live[1]);
        }
    }

    private void generate(Path dir, ObjectNode results) throws Exception {
        Path m = model(dir);
        try (LlamaModel model = Checkpoints.load(m, Device.cpu(), DataType.FLOAT32);
             JudgeTokenizer tok = JudgeTokenizer.load(m)) {
            Generator g = new Generator(model, tok);
            List<JudgeExample> ex = SyntheticTask.generate(8, 4);
            List<String> prompts = ex.stream().map(PromptTemplate.COMPACT::render).toList();
            results.put("prompt_tokens", tok.encode(prompts.get(0), true).length);
            for (int batch : new int[] {1, 8}) {
                for (boolean cache : new boolean[] {true, false}) {
                    GenerationConfig cfg = GenerationConfig.greedy(256).withCache(cache);
                    List<String> ps = prompts.subList(0, batch);
                    int reps = cache ? repeats : Math.max(1, Math.min(repeats, 2));
                    Bench.Stat s = Bench.measure("new tokens/s", cache ? warmup : 0, reps, () -> {
                        long t0 = System.nanoTime();
                        int n = g.generate(ps, cfg).stream().mapToInt(x -> x.newTokens()).sum();
                        return n / ((System.nanoTime() - t0) / 1e9);
                    });
                    results.set("batch" + batch + (cache ? "_cache" : "_no_cache"), s.toJson());
                }
                results.put("batch" + batch + "_cache_speedup", results.get("batch" + batch + "_cache").get("median")
                        .asDouble() / results.get("batch" + batch + "_no_cache").get("median").asDouble());
            }
            // the same batch-1 decoding with every operation its own engine call, and where a step's time goes
            model.scriptedInference(false);
            GenerationConfig greedy = GenerationConfig.greedy(256);
            results.set("batch1_cache_step_by_step", Bench.measure("new tokens/s", warmup, repeats, () -> {
                long t0 = System.nanoTime();
                return tokens(g, prompts.subList(0, 1), greedy) / ((System.nanoTime() - t0) / 1e9);
            }).toJson());
            // timed first: libtorch's profiler, once used, slows later operations
            ObjectNode[] profiles = new ObjectNode[2];
            for (int phase = 0; phase < 2; phase++) {
                for (int k = 0; k < 2; k++) {
                    model.scriptedInference(k == 0);
                    profiles[k] = stepProfile(g, prompts.get(0), dir, profiles[k]);
                }
            }
            results.set("step_profile_one_call", profiles[0]);
            results.set("step_profile_step_by_step", profiles[1]);
            model.scriptedInference(true);
        }
    }

    /**
     * One batch-1 decoding step with the cache, as the difference between generating 96 and 32 tokens (so that the
     * prompt's prefill cancels out): first (timed == null) its wall time; then, under libtorch's profiler, the
     * engine calls made from Java, the operations run inside the one-call program, and the time in matrix products
     * against the whole step's time, both as profiled (the profiler slows every operation, the small ones most).
     */
    private ObjectNode stepProfile(Generator g, String prompt, Path dir, ObjectNode timed) throws Exception {
        List<String> one = List.of(prompt);
        GenerationConfig shortRun = GenerationConfig.greedy(32);
        GenerationConfig longRun = GenerationConfig.greedy(96);
        int steps = tokens(g, one, longRun) - tokens(g, one, shortRun);
        if (steps < 16) {
            throw new IllegalStateException("the model stopped after a few tokens; no decoding steps to profile");
        }
        if (timed == null) {
            double[] ms = new double[Math.max(3, repeats)];
            for (int r = 0; r < ms.length; r++) {
                long t0 = System.nanoTime();
                g.generate(one, shortRun);
                long t1 = System.nanoTime();
                g.generate(one, longRun);
                long t2 = System.nanoTime();
                ms[r] = ((t2 - t1) - (t1 - t0)) / 1e6 / steps;
            }
            ObjectNode o = Json.MAPPER.createObjectNode();
            o.set("ms_per_step", new Bench.Stat("ms", ms).toJson());
            return o;
        }
        EngineProfile a = EngineProfile.of(dir.resolve("trace-short.json"), () -> g.generate(one, shortRun));
        EngineProfile b = EngineProfile.of(dir.resolve("trace-long.json"), () -> g.generate(one, longRun));
        EngineProfile step = b.minus(a, steps);
        timed.put("engine_calls_from_java", step.callsFromJava());
        timed.put("operations_inside_program", step.insideProgram());
        timed.put("profiled_ms_per_step", step.spanMs());
        timed.put("profiled_matmul_ms", step.matmulMs());
        timed.put("matmul_share", step.matmulMs() / step.spanMs());
        return timed;
    }

    private static int tokens(Generator g, List<String> prompts, GenerationConfig cfg) {
        return g.generate(prompts, cfg).stream().mapToInt(x -> x.newTokens()).sum();
    }

    private void score(Path dir, ObjectNode results) throws Exception {
        Path m = model(dir);
        try (LlamaModel model = Checkpoints.load(m, Device.cpu(), DataType.FLOAT32);
             JudgeTokenizer tok = JudgeTokenizer.load(m)) {
            ExampleEncoder enc = new ExampleEncoder(tok, ScoreTokens.detect(tok), PromptTemplate.COMPACT, 512);
            Scorer scorer = new Scorer(model, tok, enc);
            List<JudgeExample> ex = SyntheticTask.generate(32, 5);
            for (ScoreMode mode : new ScoreMode[] {ScoreMode.COT_RAIL, ScoreMode.RAIL}) {
                ScoreConfig cfg = new ScoreConfig(mode, mode == ScoreMode.RAIL ? 0 : 1,
                        GenerationConfig.tractSampling(128, 0), false, 16, 0);
                Bench.Stat s = Bench.measure("examples/s", warmup, repeats, () -> {
                    long t0 = System.nanoTime();
                    scorer.score(ex, cfg);
                    return ex.size() / ((System.nanoTime() - t0) / 1e9);
                });
                results.set(mode.id().replace('-', '_'), s.toJson());
            }
        }
    }

    /**
     * Feedback generation as CoT-RAIL does it, with output lengths that vary as a real judge's do (each prompt's
     * budget drawn uniformly from 16 to 256 new tokens): static batches of {@code --rows} rows (16), each running
     * until its longest sequence ends, against continuous batching over as many; n_cot 1 and 3. Examples/s, the share
     * of computed rows that were still generating, and the decode streams the rows ran as.
     */
    private void batching(Path dir, ObjectNode results) throws Exception {
        Path m = model(dir);
        if (rows < 1) {
            throw new picocli.CommandLine.ParameterException(spec.commandLine(), "--rows must be at least 1");
        }
        try (LlamaModel model = Checkpoints.load(m, Device.cpu(), DataType.FLOAT32);
             JudgeTokenizer tok = JudgeTokenizer.load(m)) {
            ExampleEncoder enc = new ExampleEncoder(tok, ScoreTokens.detect(tok), PromptTemplate.COMPACT, 512);
            dev.tract.judge.generate.Generator generator = new dev.tract.judge.generate.Generator(model, tok);
            GenerationConfig sampling = GenerationConfig.tractSampling(256, 0).withStopStrings(List.of());
            List<JudgeExample> ex = SyntheticTask.generate(48, 5);
            java.util.Random lengths = new java.util.Random(11);
            for (int nCot : new int[] {1, 3}) {
                List<long[]> prompts = new ArrayList<>();
                List<Integer> budgetList = new ArrayList<>();
                List<Long> seedList = new ArrayList<>();
                for (int i = 0; i < ex.size(); i++) {
                    long[] p = enc.prompt(ex.get(i), 256 + 32).ids();
                    for (int k = 0; k < nCot; k++) {
                        prompts.add(p);
                        budgetList.add(16 + lengths.nextInt(241));
                        seedList.add(1000L * i + k);
                    }
                }
                int[] budgets = budgetList.stream().mapToInt(Integer::intValue).toArray();
                long[] seeds = seedList.stream().mapToLong(Long::longValue).toArray();
                dev.tract.judge.generate.Generator.BatchStats staticStats =
                        new dev.tract.judge.generate.Generator.BatchStats();
                Bench.Stat[] statics = new Bench.Stat[2];
                for (int k = 0; k < 2; k++) {
                    // static batches with every operation its own engine call (the generator before continuous
                    // batching and the one-call pass), then with the one-call pass
                    model.scriptedInference(k == 1);
                    dev.tract.judge.generate.Generator.BatchStats st = k == 1 ? staticStats : null;
                    statics[k] = Bench.measure("examples/s", warmup, repeats, () -> {
                        long t0 = System.nanoTime();
                        for (int from = 0; from < prompts.size(); from += rows) {
                            int to = Math.min(prompts.size(), from + rows);
                            generator.generateIds(prompts.subList(from, to), sampling,
                                    java.util.Arrays.copyOfRange(seeds, from, to),
                                    java.util.Arrays.copyOfRange(budgets, from, to), st);
                        }
                        return ex.size() / ((System.nanoTime() - t0) / 1e9);
                    });
                }
                Bench.Stat before = statics[1];
                dev.tract.judge.generate.Generator.BatchStats continuousStats =
                        new dev.tract.judge.generate.Generator.BatchStats();
                Bench.Stat after = Bench.measure("examples/s", warmup, repeats, () -> {
                    long t0 = System.nanoTime();
                    generator.generateContinuous(prompts, sampling, seeds, rows, continuousStats, budgets);
                    return ex.size() / ((System.nanoTime() - t0) / 1e9);
                });
                ObjectNode o = results.putObject("n_cot_" + nCot);
                o.put("rows", rows);
                o.put("decode_streams", generator.streams(rows));
                o.set("static_step_by_step", statics[0].toJson());
                o.set("static", before.toJson());
                o.set("continuous", after.toJson());
                o.put("static_useful_rows", staticStats.usefulShare());
                o.put("continuous_useful_rows", continuousStats.usefulShare());
                o.put("speedup", after.median() / before.median());
                o.put("speedup_over_step_by_step_static", after.median() / statics[0].median());
            }
        }
    }

    private void pipeline(Path dir, ObjectNode results) throws Exception {
        Path data = dir.resolve("data");
        Files.createDirectories(data);
        dev.tract.judge.data.CanonicalJson.write(data.resolve("train.jsonl"), SyntheticTask.generate(32, 1));
        dev.tract.judge.data.CanonicalJson.write(data.resolve("test.jsonl"), SyntheticTask.generate(16, 2));
        List<Double> wall = new ArrayList<>();
        List<Double> share = new ArrayList<>();
        try (EmbeddedTemporal temporal = EmbeddedTemporal.start(0);
             TractWorker worker = TractWorker.on(temporal.client(), WorkerConfig.defaults(temporal.address())
                     .withWorkDir(dir.resolve("work")))) {
            worker.start();
            for (int r = 0; r < warmup + repeats; r++) {
                PipelineSpec s = SpecParser.parse("""
                        name: bench
                        seed_model: {preset: %s}
                        train_data: train.jsonl
                        eval_sets: [{name: synthetic, data: test.jsonl}]
                        method: tract
                        stage1: {steps: 20, batch_size: 8, max_length: 320}
                        stage2: {steps: 20, batch_size: 8, max_length: 320}
                        generation: {max_new_tokens: 48}
                        shard_size: 16
                        artifact_root: runs-%d
                        """.formatted(preset, r), data, data.toUri().toString());
                String id = "bench-" + r;
                Pipelines.start(temporal.client(), s, id);
                Values.PipelineResult res = Pipelines.result(temporal.client(), id);
                if (r >= warmup) {
                    wall.add(res.wallSeconds());
                    share.add(Math.max(0, res.wallSeconds() - res.computeSeconds()) / res.wallSeconds());
                }
            }
        }
        results.set("wall_seconds", new Bench.Stat("s", wall.stream().mapToDouble(d -> d).toArray()).toJson());
        results.set("orchestration_share", new Bench.Stat("fraction", share.stream().mapToDouble(d -> d).toArray())
                .toJson());
    }
}
