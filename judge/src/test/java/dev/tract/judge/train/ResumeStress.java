package dev.tract.judge.train;

import dev.tract.judge.model.ModelInit;
import dev.tract.judge.model.Preset;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * The resume comparison, many times, while other processes keep every core busy: each run trains halfway in this
 * JVM, resumes in a fresh one, and compares the weights with an uninterrupted run made on a quiet machine. Runs
 * alternate between full fine-tuning and LoRA. Prints one line per run and a summary; exits 1 on any difference.
 *
 * <pre>java -cp ... dev.tract.judge.train.ResumeStress RUNS [LOAD_PROCESSES]</pre>
 */
public final class ResumeStress {
    private ResumeStress() {}

    public static void main(String[] args) throws Exception {
        int runs = Integer.parseInt(args[0]);
        int load = args.length > 1 ? Integer.parseInt(args[1]) : 2;
        Path dir = Files.createTempDirectory("tract-resume-stress");
        Path model = dir.resolve("model");
        ModelInit.init(Preset.TINY, model, 7, null);
        String[] straight = new String[2];
        for (int l = 0; l < 2; l++) {
            Path out = dir.resolve("straight-" + l);
            ResumeHarness.run(model, dir.resolve("ck-straight-" + l), l == 1, 0, out);
            straight[l] = digest(out);
        }
        int same = 0;
        try (BusyLoad busy = new BusyLoad(load)) {
            for (int i = 0; i < runs; i++) {
                boolean lora = i % 2 == 1;
                Path ck = dir.resolve("ck-" + i);
                ResumeHarness.run(model, ck, lora, 3, dir.resolve("half-" + i));
                Path out = dir.resolve("resumed-" + i);
                Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                        "-cp", System.getProperty("java.class.path"), ResumeHarness.class.getName(),
                        model.toString(), ck.toString(), String.valueOf(lora), "0", out.toString())
                        .redirectErrorStream(true).start();
                String log = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                if (!p.waitFor(600, TimeUnit.SECONDS) || p.exitValue() != 0) {
                    throw new IllegalStateException("resume " + i + " failed:\n" + log);
                }
                boolean ok = digest(out).equals(straight[lora ? 1 : 0]);
                same += ok ? 1 : 0;
                System.out.printf("run %d lora=%s load_running=%s loadavg=%s %s%n", i + 1, lora, busy.running(),
                        Files.readString(Path.of("/proc/loadavg")).split(" ")[0], ok ? "identical" : "DIFFERENT");
            }
        }
        System.out.printf("resume_stress runs=%d identical=%d different=%d%n", runs, same, runs - same);
        System.exit(same == runs ? 0 : 1);
    }

    private static String digest(Path dir) {
        return Checkpointer.sha256(dir.resolve("model.safetensors"));
    }
}
