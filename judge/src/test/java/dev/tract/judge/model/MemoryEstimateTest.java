package dev.tract.judge.model;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.Device;
import ai.djl.ndarray.types.DataType;
import dev.tract.judge.data.JudgeExample;
import dev.tract.judge.data.PromptTemplate;
import dev.tract.judge.data.SyntheticTask;
import dev.tract.judge.generate.GenerationConfig;
import dev.tract.judge.generate.Generator;
import dev.tract.judge.tokenizer.JudgeTokenizer;
import dev.tract.judge.tokenizer.ScoreTokens;
import dev.tract.judge.train.ExampleEncoder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import dev.tract.judge.FixedHeapJvm;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The memory estimate of generation against what continuous batching really allocates: the growth of resident
 * memory over a generation run, in a JVM of its own whose heap is fixed and touched at start (so that only the
 * engine's tensors can grow it). Training's estimate is checked against whole processes in the command line's
 * PlanCommandTest.
 */
class MemoryEstimateTest {
    @TempDir
    Path tmp;

    @Test
    void generationNeedsWhatTheEstimateSaysForTheKvCacheAndThePrefill() throws Exception {
        Path model = tmp.resolve("small");
        ModelInit.init(Preset.SMALL, model, 0, null);
        StringBuilder report = new StringBuilder();
        for (String rowsAndNew : new String[] {"8 128", "32 64"}) {
            String[] a = rowsAndNew.split(" ");
            String out = child(model.toString(), a[0], a[1]);
            String[] f = out.strip().split(" ");
            double grown = Double.parseDouble(f[0]);
            double estimate = Double.parseDouble(f[1]);
            report.append(String.format("rows %s, %s new tokens: grew %.0f MiB, estimate %.0f MiB%n", a[0], a[1],
                    grown / (1 << 20), estimate / (1 << 20)));
            assertThat(estimate / grown).as(report.toString()).isBetween(0.8, 1.2);
        }
        System.out.print(report);
    }

    private String child(String... args) throws Exception {
        return FixedHeapJvm.run(tmp, MemoryEstimateTest.class, args);
    }

    /** MODEL ROWS NEW: generates 4 x ROWS prompts over ROWS rows; prints the peak growth and the estimate, bytes. */
    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[0]);
        int rows = Integer.parseInt(args[1]);
        int maxNew = Integer.parseInt(args[2]);
        try (LlamaModel model = Checkpoints.load(dir, Device.cpu(), DataType.FLOAT32);
             JudgeTokenizer tok = JudgeTokenizer.load(dir)) {
            ExampleEncoder enc = new ExampleEncoder(tok, ScoreTokens.detect(tok), PromptTemplate.COMPACT, 1024);
            List<long[]> prompts = new ArrayList<>();
            for (JudgeExample e : SyntheticTask.generate(4 * rows, 3)) {
                prompts.add(enc.prompt(e, maxNew + 32).ids());
            }
            int longest = prompts.stream().mapToInt(p -> p.length).max().orElseThrow();
            Generator g = new Generator(model, tok);
            // the engine's own first-use allocations happen before the baseline
            g.generateContinuous(prompts.subList(0, 1), GenerationConfig.tractSampling(4, 0)
                    .withStopStrings(List.of()), new long[1], 1, null, new int[] {4});
            long before = status("VmRSS:");
            int[] budgets = new int[prompts.size()];
            Arrays.fill(budgets, maxNew);
            g.generateContinuous(prompts, GenerationConfig.tractSampling(maxNew, 0).withStopStrings(List.of()),
                    new long[prompts.size()], rows, null, budgets);
            long grown = status("VmHWM:") - before;
            MemoryEstimate e = MemoryEstimate.generation(model.config(), rows, longest, maxNew, 0);
            System.out.println(grown + " " + (e.activations() + e.kvCache()));
        }
    }

    private static long status(String key) throws Exception {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith(key)) {
                return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
            }
        }
        throw new IllegalStateException(key + " not in /proc/self/status");
    }
}
