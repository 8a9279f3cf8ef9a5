package dev.tract.judge;

import ai.djl.Device;
import dev.tract.judge.model.Checkpoints;
import dev.tract.judge.model.LlamaConfig;
import dev.tract.judge.model.LlamaModel;
import dev.tract.judge.model.ModelInit;
import dev.tract.judge.model.Preset;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Tiny model directories for tests, made here from scratch. */
public final class TestModels {
    private static Path tiny;

    private TestModels() {}

    /** A randomly initialised {@code tiny} preset directory, made once per test JVM. Do not modify it. */
    public static synchronized Path tiny() {
        if (tiny == null) {
            try {
                Path dir = Files.createTempDirectory("tract-tiny");
                ModelInit.init(Preset.TINY, dir, 7, null);
                tiny = dir;
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return tiny;
    }

    /** A model directory for a custom config, with the tiny preset's tokenizer. */
    public static Path withConfig(Path dir, LlamaConfig config, long seed) throws IOException {
        Files.createDirectories(dir);
        for (String f : new String[] {"tokenizer.json", "tokenizer_config.json"}) {
            Files.copy(tiny().resolve(f), dir.resolve(f), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        }
        try (LlamaModel m = Checkpoints.randomInit(config, seed, Device.cpu())) {
            Checkpoints.save(m, dir);
        }
        return dir;
    }
}
