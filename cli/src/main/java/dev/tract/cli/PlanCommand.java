package dev.tract.cli;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tract.judge.JudgeInputException;
import dev.tract.judge.data.JudgeExample;
import dev.tract.judge.data.PromptTemplate;
import dev.tract.judge.generate.GenerationConfig;
import dev.tract.judge.generate.Generator;
import dev.tract.judge.model.Checkpoints;
import dev.tract.judge.model.LlamaConfig;
import dev.tract.judge.model.LlamaModel;
import dev.tract.judge.model.MemoryEstimate;
import dev.tract.judge.model.ModelInit;
import dev.tract.judge.model.Preset;
import dev.tract.judge.runtime.EngineThreads;
import dev.tract.judge.tokenizer.JudgeTokenizer;
import dev.tract.judge.tokenizer.ScoreTokens;
import dev.tract.judge.train.Checkpointer;
import dev.tract.judge.train.EncodedExample;
import dev.tract.judge.train.ExampleEncoder;
import dev.tract.judge.train.Objective;
import dev.tract.judge.train.StepMetrics;
import dev.tract.judge.train.TrainConfig;
import dev.tract.judge.train.TrainListener;
import dev.tract.judge.train.Trainer;
import dev.tract.workflows.spec.Method;
import dev.tract.workflows.spec.PipelineSpec;
import dev.tract.workflows.spec.SpecParser;
import java.io.PrintWriter;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

@Command(name = "plan", mixinStandardHelpOptions = true,
        description = "Before anything runs: per stage of a pipeline spec, the examples, tokens and optimizer steps, "
                + "the peak memory on one device (weights, gradients, optimizer state, activations, KV cache, "
                + "runtime) and the time, with a warning and the settings that would fit when a stage does not. "
                + "Reads the spec's data and the seed model's config and tokenizer here; trains nothing.")
final class PlanCommand implements Callable<Integer> {
    /** Models up to this size are timed here when no throughput is given (a few steps take seconds). */
    static final long MEASURE_UP_TO_PARAMETERS = 100_000_000L;
    /** What a GPU holds before any model: the CUDA context, the engine's kernels and its allocator's slack. */
    static final long GPU_RUNTIME = 1L << 30;
    /** Seconds of timed training, then of timed generation, when measuring here. */
    static final double MEASURE_SECONDS = 3;

    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Parameters(paramLabel = "SPEC", description = "pipeline spec, YAML or JSON")
    Path file;

    @Option(names = "--gpu-memory", paramLabel = "SIZE", description = "memory of one GPU worker (80GiB, 24G, "
            + "40GB); without it the stages are planned for this machine's CPU and its physical memory")
    String gpuMemory;

    @Option(names = "--runtime-memory", paramLabel = "SIZE", description = "what the device holds before any model "
            + "(default: on the CPU, measured in this process: the engine and the JVM with its committed heap; on a "
            + "GPU, 1GiB)")
    String runtimeMemory;

    @Option(names = "--train-tokens-per-s", description = "training throughput of one worker (default: measured "
            + "here for the CPU and a seed model of at most 100M parameters)")
    Double trainTokensPerS;

    @Option(names = "--generate-tokens-per-s", description = "new tokens per second of one worker at the generation "
            + "batch (default: measured here, as for training)")
    Double generateTokensPerS;

    @Option(names = "--workers", defaultValue = "1", description = "GPU workers the CoT and evaluation shards are "
            + "spread over (default: ${DEFAULT-VALUE})")
    int workers;

    @Option(names = "--generation-batch", defaultValue = "${env:TRACT_GENERATION_BATCH:-8}",
            description = "rows a worker generates at once, as TRACT_GENERATION_BATCH (default: ${DEFAULT-VALUE})")
    int generationBatch;

    @Option(names = "--model", paramLabel = "DIR", description = "a local folder with the seed model's config.json "
            + "and tokenizer.json, for a seed model the spec gives as a URI")
    Path model;

    @Option(names = "--no-measure", description = "do not time the model here; without throughputs no time is given")
    boolean noMeasure;

    @Option(names = "--json", description = "print the plan as one JSON object")
    boolean json;

    @Override
    public Integer call() throws Exception {
        if (!Files.isRegularFile(file)) {
            throw new JudgeInputException(file.toString(), null, "spec file not found");
        }
        if (workers < 1 || generationBatch < 1) {
            throw new JudgeInputException(workers < 1 ? "--workers" : "--generation-batch", null,
                    "must be at least 1");
        }
        Path dir = file.toAbsolutePath().normalize().getParent();
        PipelineSpec pipeline = SpecParser.parse(SpecParser.read(file), dir,
                dir.resolve("tract-runs").toUri().toString());
        boolean gpu = gpuMemory != null;
        long device = gpu ? Sizes.parse(gpuMemory, "--gpu-memory") : physicalMemory();
        EngineThreads.pin();
        long runtime = runtimeMemory != null ? Sizes.parse(runtimeMemory, "--runtime-memory")
                : gpu ? GPU_RUNTIME : cpuRuntime();
        Path made = null;
        try {
            Path modelDir = seedModelDir(pipeline);
            if (modelDir == null) {
                made = Files.createTempDirectory("tract-plan");
                PipelineSpec.SeedModel s = pipeline.seedModel();
                ModelInit.init(Preset.named(s.preset()), made, s.initSeed(), null);
                modelDir = made;
            }
            LlamaConfig config = LlamaConfig.read(modelDir.resolve(LlamaConfig.FILE));
            Method method = pipeline.methodEnum();
            List<JudgeExample> train = method.trains() ? Plan.load(pipeline.trainData(), "train_data", false)
                    : List.of();
            try (JudgeTokenizer tok = JudgeTokenizer.load(modelDir)) {
                Plan.Throughput speed = throughput(pipeline, train, config, tok, modelDir, gpu);
                List<Plan.Stage> stages = Plan.stages(pipeline, train, config, tok, device, runtime,
                        generationBatch, workers, speed);
                print(pipeline, config, device, gpu, runtime, speed, stages);
                return 0;
            }
        } finally {
            if (made != null) {
                Checkpointer.deleteTree(made);
            }
        }
    }

    /** The seed model's folder, or null for a preset (made from scratch in a temporary folder). */
    private Path seedModelDir(PipelineSpec p) {
        PipelineSpec.SeedModel s = p.seedModel();
        if (model != null) {
            return model;
        }
        if (s.preset() != null) {
            return null;
        }
        Path d = s.path() != null ? Path.of(s.path()) : Plan.local(s.uri(), "seed_model.uri",
                "give --model DIR with a local copy of its config.json and tokenizer.json");
        if (!Files.isDirectory(d)) {
            throw new JudgeInputException(d.toString(), "seed_model.path", "model directory not found");
        }
        return d;
    }

    /** Given figures; else, for the CPU and a model small enough, a few steps and a short generation here. */
    private Plan.Throughput throughput(PipelineSpec p, List<JudgeExample> trainData, LlamaConfig config,
                                       JudgeTokenizer tok, Path modelDir, boolean gpu) throws Exception {
        if (trainTokensPerS != null && generateTokensPerS != null) {
            return new Plan.Throughput(trainTokensPerS, generateTokensPerS, "given");
        }
        if (noMeasure || gpu || config.parameterCount() > MEASURE_UP_TO_PARAMETERS) {
            return null;
        }
        Method method = p.methodEnum();
        List<JudgeExample> data = method.trains() ? trainData
                : Plan.load(p.evalSets().get(0).data(), "eval_sets." + p.evalSets().get(0).name() + ".data", true);
        data = data.subList(0, Math.min(data.size(), 64));
        ScoreTokens scores = ScoreTokens.detect(tok);
        PromptTemplate template = PromptTemplate.named(p.template());
        double train = trainTokensPerS != null ? trainTokensPerS : Double.NaN;
        double generate = generateTokensPerS != null ? generateTokensPerS : Double.NaN;
        try (LlamaModel m = Checkpoints.load(modelDir, Device.cpu(), DataType.FLOAT32)) {
            if (Double.isNaN(generate)) {
                ExampleEncoder enc = new ExampleEncoder(tok, scores, template, p.stage1().maxLength());
                List<long[]> prompts = new ArrayList<>();
                int rows = Math.min(generationBatch, data.size());
                for (int i = 0; i < rows; i++) {
                    prompts.add(enc.prompt(data.get(i), 32 + SpecParser.GENERATION_SUFFIX).ids());
                }
                GenerationConfig sampling = GenerationConfig.tractSampling(32, p.seed()).withStopStrings(List.of());
                long[] seeds = new long[rows];
                int[] budgets = new int[rows];
                java.util.Arrays.fill(budgets, 32);
                Generator g = new Generator(m, tok);
                g.generateContinuous(prompts, sampling, seeds, rows, null, budgets); // warm-up
                long made = 0;
                long t0 = System.nanoTime();
                do {
                    made += g.generateContinuous(prompts, sampling, seeds, rows, null, budgets).stream()
                            .mapToInt(x -> x.newTokens()).sum();
                } while (System.nanoTime() - t0 < MEASURE_SECONDS * 1e9);
                generate = made / ((System.nanoTime() - t0) / 1e9);
            }
            if (Double.isNaN(train) && method.trains()) {
                PipelineSpec.Stage h = p.stage1();
                ExampleEncoder enc = new ExampleEncoder(tok, scores, template, h.maxLength());
                Objective objective = Objective.named(method.stage1Objective());
                List<EncodedExample> encoded = Trainer.encode(data, enc, objective);
                TrainConfig cfg = TrainConfig.defaults(objective).withSteps(1000).withBatch(h.batchSize(), 1)
                        .withCheckpointEvery(0, 0).withLora(Plan.lora(h.lora()));
                List<StepMetrics> steps = new ArrayList<>();
                Path ck = Files.createTempDirectory("tract-plan-ck");
                try {
                    // two steps to warm the engine up, then steps for about MEASURE_SECONDS
                    new Trainer(m, tok, enc, cfg, encoded, new TrainListener() {
                        @Override
                        public void onStep(StepMetrics s) {
                            steps.add(s);
                        }
                    }).run(ck, false, () -> steps.size() > 3 && steps.subList(2, steps.size()).stream()
                            .mapToDouble(StepMetrics::seconds).sum() > MEASURE_SECONDS);
                } finally {
                    Checkpointer.deleteTree(ck);
                }
                List<StepMetrics> timed = steps.subList(Math.min(2, steps.size() - 1), steps.size());
                train = timed.stream().mapToDouble(s -> s.tokensPerSecond() * s.seconds()).sum()
                        / timed.stream().mapToDouble(StepMetrics::seconds).sum();
            }
        }
        if (Double.isNaN(train)) {
            train = 3 * generate; // judge only: the scoring passes; a forward pass costs about a third of a step
        }
        return new Plan.Throughput(train, generate, "measured here");
    }

    /**
     * What this process holds with the engine loaded and no model: its resident memory, with the Java heap counted
     * at its committed size instead of what has been touched so far (a long run touches all of it).
     */
    static long cpuRuntime() {
        try (NDManager m = NDManager.newBaseManager(Device.cpu())) {
            m.ones(new Shape(64, 64)).matMul(m.ones(new Shape(64, 64))).toFloatArray();
        }
        java.lang.management.MemoryUsage heap = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage();
        double rss = Bench.rssMiB();
        if (Double.isNaN(rss)) {
            return 512L << 20;
        }
        // the heap pages held so far: all of it when the JVM touches its heap at start, else about what is in use
        boolean preTouched = ManagementFactory.getPlatformMXBean(com.sun.management.HotSpotDiagnosticMXBean.class)
                .getVMOption("AlwaysPreTouch").getValue().equals("true");
        return (long) (rss * (1 << 20)) - (preTouched ? heap.getCommitted() : heap.getUsed()) + heap.getCommitted();
    }

    static long physicalMemory() {
        return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean())
                .getTotalMemorySize();
    }

    private void print(PipelineSpec p, LlamaConfig config, long device, boolean gpu, long runtime,
                       Plan.Throughput speed, List<Plan.Stage> stages) {
        PrintWriter out = spec.commandLine().getOut();
        boolean fits = stages.stream().allMatch(s -> s.fitsIn(device));
        double total = stages.stream().mapToDouble(Plan.Stage::seconds).sum();
        if (json) {
            ObjectNode o = Json.object();
            o.put("name", p.name());
            o.put("method", p.method());
            o.put("parameters", config.parameterCount());
            o.put("device", gpu ? "gpu" : "cpu");
            o.put("device_memory_bytes", device);
            o.put("runtime_bytes", runtime);
            o.put("fits", fits);
            if (speed != null) {
                o.put("train_tokens_per_s", speed.trainTokensPerS());
                o.put("generate_tokens_per_s", speed.generateTokensPerS());
                o.put("throughput", speed.source());
                o.put("seconds", total);
            }
            ArrayNode arr = o.putArray("stages");
            for (Plan.Stage s : stages) {
                ObjectNode so = arr.addObject();
                so.put("name", s.name());
                so.put("kind", s.kind());
                so.put("examples", s.examples());
                so.put("tokens", s.tokens());
                so.put("padded_tokens", s.paddedTokens());
                so.put("steps", s.steps());
                so.put("new_tokens", s.newTokens());
                so.put("longest", s.longest());
                MemoryEstimate m = s.memory();
                ObjectNode mo = so.putObject("memory_bytes");
                mo.put("weights", m.weights());
                mo.put("gradients", m.gradients());
                mo.put("optimizer", m.optimizer());
                mo.put("activations", m.activations());
                mo.put("kv_cache", m.kvCache());
                mo.put("runtime", m.runtime());
                mo.put("peak", m.total());
                so.put("fits", s.fitsIn(device));
                if (!Double.isNaN(s.seconds())) {
                    so.put("seconds", s.seconds());
                }
                s.notes().forEach(so.putArray("notes")::add);
                s.fits().forEach(so.putArray("settings_that_fit")::add);
            }
            Json.print(out, o);
            return;
        }
        out.printf("plan for %s (%s): seed model %s, %,d parameters, float32%n", p.name(), p.method(),
                p.seedModel().describe(), config.parameterCount());
        out.printf("device: %s with %s; runtime %s (%s)%n", gpu ? "one GPU" : "this machine's CPU",
                Sizes.format(device), Sizes.format(runtime), runtimeMemory != null ? "given" : gpu
                        ? "CUDA context and kernels, assumed" : "engine and JVM, measured here");
        out.printf("throughput: %s%n%n", speed == null ? "none (give --train-tokens-per-s and --generate-tokens-per-s"
                + " for times)" : String.format(Locale.ROOT, "%,.0f training tokens/s, %,.0f new tokens/s (%s)",
                speed.trainTokensPerS(), speed.generateTokensPerS(), speed.source()));
        out.printf("%-14s %8s %11s %7s %10s | %9s %9s %9s %11s %9s %9s | %10s %9s%n", "stage", "examples", "tokens",
                "steps", "new tok", "weights", "grads", "optim", "activations", "kv cache", "runtime", "peak",
                "time");
        for (Plan.Stage s : stages) {
            MemoryEstimate m = s.memory();
            out.printf("%-14s %8d %11s %7s %10s | %9s %9s %9s %11s %9s %9s | %10s %9s%n", s.name(), s.examples(),
                    String.format("%,d", s.tokens()), s.steps() == 0 ? "-" : String.valueOf(s.steps()),
                    s.newTokens() == 0 ? "-" : String.format("%,d", s.newTokens()), Sizes.format(m.weights()),
                    dash(m.gradients()), dash(m.optimizer()), Sizes.format(m.activations()), dash(m.kvCache()),
                    Sizes.format(m.runtime()), (s.fitsIn(device) ? "" : "!") + Sizes.format(m.total()),
                    Double.isNaN(s.seconds()) ? "-" : duration(s.seconds()));
        }
        if (speed != null) {
            out.printf("%nestimated time: %s on %d worker(s)%n", duration(total), workers);
        }
        for (Plan.Stage s : stages) {
            out.printf("%n%s: %s%n", s.name(), String.join("; ", s.notes()));
            if (!s.fitsIn(device)) {
                out.printf("WARNING: %s needs %s, more than the %s of the device. Settings that fit:%n", s.name(),
                        Sizes.format(s.memory().total()), Sizes.format(device));
                s.fits().forEach(f -> out.printf("  - %s%n", f));
            }
        }
        out.flush();
    }

    private static String dash(long bytes) {
        return bytes == 0 ? "-" : Sizes.format(bytes);
    }

    static String duration(double seconds) {
        if (seconds < 600) {
            return String.format(Locale.ROOT, "%.0f s", seconds);
        }
        if (seconds < 7200) {
            return String.format(Locale.ROOT, "%.0f min", seconds / 60);
        }
        return String.format(Locale.ROOT, "%.1f h", seconds / 3600);
    }
}
