package dev.tract.judge.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;

/** Runs src/test/python/hf_llama_reference.py, an independent NumPy implementation of the HF forward pass. */
final class ReferenceImplementation {
    private static final Path SCRIPT = Path.of("src/test/python/hf_llama_reference.py").toAbsolutePath();
    private static final String PYTHON = System.getenv().getOrDefault("TRACT_PYTHON", "python3");
    private static Boolean available;

    private ReferenceImplementation() {}

    static synchronized boolean available() {
        if (available == null) {
            try {
                Process p = new ProcessBuilder(PYTHON, "-c", "import numpy").redirectErrorStream(true).start();
                available = p.waitFor(60, TimeUnit.SECONDS) && p.exitValue() == 0;
            } catch (IOException | InterruptedException e) {
                available = false;
            }
        }
        return available;
    }

    static float[][] logits(Path modelDir, long[] ids) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(PYTHON, SCRIPT.toString(), modelDir.toString(), Arrays.toString(ids))
                .redirectError(ProcessBuilder.Redirect.INHERIT).start();
        byte[] out = p.getInputStream().readAllBytes();
        if (!p.waitFor(120, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IllegalStateException("reference implementation failed");
        }
        JsonNode rows = new ObjectMapper().readTree(new String(out, StandardCharsets.UTF_8)).get("logits");
        float[][] logits = new float[rows.size()][];
        for (int i = 0; i < rows.size(); i++) {
            JsonNode row = rows.get(i);
            logits[i] = new float[row.size()];
            for (int j = 0; j < row.size(); j++) {
                logits[i][j] = (float) row.get(j).asDouble();
            }
        }
        return logits;
    }
}
