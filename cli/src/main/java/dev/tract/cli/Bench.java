package dev.tract.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/** Repetitions, their median and spread, and facts about the machine, for the benchmark commands. */
final class Bench {
    private Bench() {}

    /** A measured quantity: every repetition, median, min and max. */
    record Stat(String unit, double[] runs) {
        double median() {
            double[] s = runs.clone();
            Arrays.sort(s);
            return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
        }

        double max() {
            return Arrays.stream(runs).max().orElse(Double.NaN);
        }

        ObjectNode toJson() {
            ObjectNode o = Json.object();
            o.put("unit", unit);
            o.put("median", median());
            o.put("min", Arrays.stream(runs).min().orElse(Double.NaN));
            o.put("max", max());
            ArrayNode r = o.putArray("runs");
            for (double v : runs) {
                r.add(v);
            }
            return o;
        }

        String describe() {
            return String.format("%.3g %s (min %.3g, max %.3g, %d runs)", median(), unit,
                    Arrays.stream(runs).min().orElse(Double.NaN), max(),
                    runs.length);
        }
    }

    interface Measure {
        double run() throws Exception;
    }

    /** Runs {@code warmup} untimed repetitions, then {@code repeats} measured ones. */
    static Stat measure(String unit, int warmup, int repeats, Measure m) throws Exception {
        for (int i = 0; i < warmup; i++) {
            m.run();
        }
        List<Double> runs = new ArrayList<>();
        for (int i = 0; i < repeats; i++) {
            runs.add(m.run());
        }
        return new Stat(unit, runs.stream().mapToDouble(Double::doubleValue).toArray());
    }

    /** Peak resident memory of this process (VmHWM), in MiB, or NaN where /proc is missing. */
    static double peakRssMiB() {
        return procStatus("VmHWM:");
    }

    static double rssMiB() {
        return procStatus("VmRSS:");
    }

    private static double procStatus(String key) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith(key)) {
                    return Double.parseDouble(line.replaceAll("[^0-9]", "")) / 1024.0;
                }
            }
        } catch (Exception e) {
            // not Linux
        }
        return Double.NaN;
    }

    /** CPU model, cores, memory, Java and engine versions. */
    static ObjectNode machine() {
        ObjectNode m = Json.object();
        String cpu = "unknown";
        try {
            for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
                if (line.startsWith("model name")) {
                    cpu = line.substring(line.indexOf(':') + 1).strip();
                    break;
                }
            }
        } catch (Exception e) {
            // not Linux
        }
        m.put("cpu", cpu);
        m.put("cores", Runtime.getRuntime().availableProcessors());
        m.put("memory_gib", Math.round(((com.sun.management.OperatingSystemMXBean) java.lang.management
                .ManagementFactory.getOperatingSystemMXBean()).getTotalMemorySize() / (1024.0 * 1024 * 1024)));
        m.put("java", System.getProperty("java.version"));
        m.put("engine", ai.djl.engine.Engine.getInstance().getEngineName() + " "
                + ai.djl.engine.Engine.getInstance().getVersion());
        m.put("torch_threads", ai.djl.pytorch.jni.JniUtils.getNumThreads());
        return m;
    }
}
