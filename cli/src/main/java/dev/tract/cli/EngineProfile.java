package dev.tract.cli;

import ai.djl.pytorch.jni.JniUtils;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Deque;
import java.util.List;
import java.util.Set;

/**
 * What libtorch's own profiler saw while a piece of work ran: the operations called from Java (those not inside
 * another operation), the operations run inside the one-call inference program, the time spent in the kernels of
 * matrix products, and the time from the first operation's start to the last one's end.
 */
record EngineProfile(long callsFromJava, long insideProgram, double matmulMs, double spanMs) {
    /** The kernels of matrix products (linear and matmul call them): their time is the products' own. */
    private static final Set<String> MATMUL = Set.of("aten::mm", "aten::addmm", "aten::bmm", "aten::mv",
            "aten::addmv", "aten::dot");
    private static final String PROGRAM = "tract::llama_inference";

    /** Runs the work with the profiler on; its trace is written to {@code trace} and read back. */
    static EngineProfile of(Path trace, Runnable work) throws Exception {
        JniUtils.startProfile(false, false, false);
        try {
            work.run();
        } finally {
            JniUtils.stopProfile(trace.toString());
        }
        return read(Files.readAllBytes(trace));
    }

    private record Event(String name, double start, double end, long thread) {
    }

    static EngineProfile read(byte[] json) throws Exception {
        JsonNode root = new ObjectMapper().readTree(json);
        JsonNode events = root.isArray() ? root : root.path("traceEvents");
        List<Event> list = new ArrayList<>();
        for (JsonNode e : events) {
            if (!"X".equals(e.path("ph").asText())) {
                continue;
            }
            double ts = e.path("ts").asDouble();
            list.add(new Event(e.path("name").asText(), ts, ts + e.path("dur").asDouble(), e.path("tid").asLong()));
        }
        // parents before children: by thread, then start, then the longer first
        list.sort(Comparator.comparingLong(Event::thread).thenComparingDouble(Event::start)
                .thenComparingDouble(e -> -e.end()));
        long top = 0;
        long inside = 0;
        double matmulUs = 0;
        double first = Double.MAX_VALUE;
        double last = 0;
        Deque<Event> open = new ArrayDeque<>();
        for (Event e : list) {
            while (!open.isEmpty() && (open.peek().thread() != e.thread() || open.peek().end() <= e.start())) {
                open.pop();
            }
            boolean inProgram = open.stream().anyMatch(p -> p.name().equals(PROGRAM));
            boolean inMatmul = open.stream().anyMatch(p -> MATMUL.contains(p.name()));
            boolean topLevel = open.stream().allMatch(p -> p.name().equals("forward"));
            if (e.name().equals("forward") || e.name().equals(PROGRAM)) {
                top += e.name().equals("forward") && open.isEmpty() ? 1 : 0;
            } else if (inProgram && open.peek().name().equals(PROGRAM)) {
                inside++;
            } else if (topLevel && !inProgram) {
                top++;
            }
            if (MATMUL.contains(e.name()) && !inMatmul) {
                matmulUs += e.end() - e.start();
            }
            open.push(e);
            first = Math.min(first, e.start());
            last = Math.max(last, e.end());
        }
        return new EngineProfile(top, inside, matmulUs / 1000, list.isEmpty() ? 0 : (last - first) / 1000);
    }

    /** Per-step figures from two profiles that differ by {@code steps} decoding steps. */
    EngineProfile minus(EngineProfile shorter, int steps) {
        return new EngineProfile(Math.round((callsFromJava - shorter.callsFromJava) / (double) steps),
                Math.round((insideProgram - shorter.insideProgram) / (double) steps),
                (matmulMs - shorter.matmulMs) / steps, (spanMs - shorter.spanMs) / steps);
    }
}
