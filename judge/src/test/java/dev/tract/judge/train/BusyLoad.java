package dev.tract.judge.train;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Another process that keeps every core busy until it is closed: the load under which resumed training must still
 * reproduce uninterrupted training bit for bit.
 */
public final class BusyLoad implements AutoCloseable {
    private final List<Process> processes = new ArrayList<>();

    /** Starts {@code processes} JVMs, each spinning one thread per core. */
    public BusyLoad(int processes) throws Exception {
        for (int i = 0; i < processes; i++) {
            this.processes.add(new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    "-Xmx32m", "-cp", System.getProperty("java.class.path"), BusyLoad.class.getName())
                    .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start());
        }
    }

    /** Whether every load process is still running. */
    public boolean running() {
        return processes.stream().allMatch(Process::isAlive);
    }

    @Override
    public void close() {
        processes.forEach(Process::destroyForcibly);
    }

    public static void main(String[] args) {
        int cores = Runtime.getRuntime().availableProcessors();
        for (int i = 0; i < cores; i++) {
            Thread t = new Thread(() -> {
                double x = 1;
                while (true) {
                    x = Math.sqrt(x + 1.0);
                    if (x < 0) {
                        System.out.println(x);
                    }
                }
            });
            t.start();
        }
    }
}
