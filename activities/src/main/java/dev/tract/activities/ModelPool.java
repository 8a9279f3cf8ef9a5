package dev.tract.activities;

import ai.djl.Device;
import dev.tract.judge.data.PromptTemplate;
import dev.tract.judge.model.Checkpoints;
import dev.tract.judge.model.LlamaModel;
import dev.tract.judge.runtime.Devices;
import dev.tract.judge.tokenizer.JudgeTokenizer;
import dev.tract.judge.tokenizer.ScoreTokens;
import dev.tract.judge.train.ExampleEncoder;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedList;
import java.util.List;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Models loaded once per worker and reused by the generation and evaluation shards that follow, keyed by the
 * model's digest and the device. A loaded model serves one shard at a time; a second shard running at once gets a
 * copy of its own. Idle models are kept while their weights fit in the pool's bound (bytes of their safetensors
 * files) and evicted, least recently used first, beyond it. Training never uses the pool: it changes its weights.
 */
final class ModelPool implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ModelPool.class);
    /** Environment variable with the bound in bytes of the models kept idle (default 8 GiB; 0 keeps none). */
    static final String BOUND_ENV = "TRACT_MODEL_CACHE_BYTES";

    private final long bound;
    private final LinkedList<Entry> idle = new LinkedList<>();
    private int loads;

    ModelPool(long bound) {
        this.bound = bound;
    }

    static ModelPool fromEnv() {
        String v = System.getenv(BOUND_ENV);
        return new ModelPool(v == null || v.isBlank() ? 8L << 30 : Long.parseLong(v.strip()));
    }

    private record Entry(String key, LlamaModel model, JudgeTokenizer tokenizer, long bytes) {
        void close() {
            tokenizer.close();
            model.close();
        }
    }

    /** A model in use by one shard; closing it hands the model back to the pool. */
    final class Lease implements AutoCloseable {
        private final Entry entry;
        private boolean returned;

        private Lease(Entry entry) {
            this.entry = entry;
        }

        LlamaModel model() {
            return entry.model();
        }

        JudgeTokenizer tokenizer() {
            return entry.tokenizer();
        }

        /** An encoder of this model's tokenizer (cheap: made per shard, since template and length vary). */
        ExampleEncoder encoder(String template, int maxLength) {
            return new ExampleEncoder(entry.tokenizer(), ScoreTokens.detect(entry.tokenizer()),
                    PromptTemplate.named(template), maxLength);
        }

        @Override
        public void close() {
            if (!returned) {
                returned = true;
                release(entry);
            }
        }
    }

    /**
     * The model of {@code dir} (whose content has {@code digest}) on the device: an idle one from the pool, or
     * loaded now.
     */
    Lease acquire(String digest, Path dir, String device) {
        Device d = Devices.resolve(device);
        String key = (digest != null ? digest : dir.toAbsolutePath().normalize().toString()) + "@" + d;
        synchronized (this) {
            for (Iterator<Entry> it = idle.iterator(); it.hasNext(); ) {
                Entry e = it.next();
                if (e.key().equals(key)) {
                    it.remove();
                    return new Lease(e);
                }
            }
            loads++;
        }
        LlamaModel m = Checkpoints.load(dir, d, Devices.dtype("float32", d));
        try {
            return new Lease(new Entry(key, m, JudgeTokenizer.load(dir), weightBytes(dir)));
        } catch (RuntimeException e) {
            m.close();
            throw e;
        }
    }

    private void release(Entry e) {
        List<Entry> evicted = new ArrayList<>();
        synchronized (this) {
            idle.addFirst(e);
            long held = idle.stream().mapToLong(Entry::bytes).sum();
            while (held > bound && !idle.isEmpty()) {
                Entry last = idle.removeLast();
                held -= last.bytes();
                evicted.add(last);
            }
        }
        for (Entry x : evicted) {
            LOG.info("model pool: evicting {} ({} MB) to stay within {} MB", x.key(), x.bytes() >> 20, bound >> 20);
            x.close();
        }
    }

    /** Models loaded so far (a reuse loads none). */
    synchronized int loads() {
        return loads;
    }

    /** Models held idle now. */
    synchronized int idle() {
        return idle.size();
    }

    private static long weightBytes(Path dir) {
        try (Stream<Path> files = Files.list(dir)) {
            return files.filter(f -> f.getFileName().toString().endsWith(".safetensors")).mapToLong(f -> {
                try {
                    return Files.size(f);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }).sum();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public synchronized void close() {
        idle.forEach(Entry::close);
        idle.clear();
    }
}
