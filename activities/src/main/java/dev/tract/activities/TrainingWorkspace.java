package dev.tract.activities;

import dev.tract.activities.artifacts.ArtifactStore;
import dev.tract.judge.train.Checkpointer;
import dev.tract.workflows.Values.TrainHeartbeat;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A training stage's checkpoints, locally and in the store ({@code stages/train/<key>/checkpoints/}): fetching the
 * newest usable one to resume from, and publishing new ones. Several attempts of a stage can be alive at once (a
 * worker that lost its lease in a network partition, or two pipelines submitted with the same spec), so publishing
 * follows three rules, all here:
 *
 * <ol>
 *   <li>each attempt uploads under its own folder ({@code checkpoints/<writer>/step-N/}), so two attempts never
 *       write the same files, and an attempt that lost its lease ({@link Lease#leaseLost()}) publishes nothing;</li>
 *   <li>{@code LATEST} only moves forward: it is written by compare-and-set only when it names no later step, so
 *       that of two racing writers the later step wins;</li>
 *   <li>pruning keeps the two newest checkpoints and never removes the one {@code LATEST} names.</li>
 * </ol>
 *
 * A checkpoint is the same for every attempt that trains the same steps (CPU training is deterministic; a GPU's
 * may differ in the last bits, and then either attempt's checkpoint is a valid one to resume from).
 */
final class TrainingWorkspace {
    private static final Logger LOG = LoggerFactory.getLogger(TrainingWorkspace.class);

    /** How long a checkpoint upload keeps retrying while the store is unreachable. */
    static final long UPLOAD_RETRY_MILLIS = Long.parseLong(System.getenv().getOrDefault(
            "TRACT_UPLOAD_RETRY_SECONDS", "600")) * 1000;

    private final ArtifactStore store;
    private final String base;
    private final Path local;
    private final Lease beats;
    private final String writer;

    /**
     * @param base the stage's folder in the store ({@code stages/train/<key>})
     * @param local the local checkpoint folder the trainer reads and writes
     * @param writer this attempt's own folder under the stage's checkpoints: two attempts never write the same files
     */
    TrainingWorkspace(ArtifactStore store, String base, Path local, Lease beats, String writer) {
        this.store = store;
        this.base = base;
        this.local = local;
        this.beats = beats;
        this.writer = writer;
    }

    /** The checkpoint's name (its step) of a reference {@code writer/step-000050} (or {@code step-000050}). */
    static String stepName(String ref) {
        return ref.substring(ref.lastIndexOf('/') + 1);
    }

    /** Whether a reference names a checkpoint: {@code step-N} or {@code writer/step-N}. */
    static boolean isRef(String ref) {
        String[] parts = ref.split("/");
        return parts.length <= 2 && Checkpointer.isName(parts[parts.length - 1])
                && (parts.length == 1 || parts[0].matches("[a-z0-9-]+"));
    }

    /** References in the order of their steps (then by writer). */
    static final java.util.Comparator<String> BY_STEP = java.util.Comparator.comparing(TrainingWorkspace::stepName,
            Checkpointer.BY_STEP).thenComparing(java.util.Comparator.naturalOrder());

    /** The references of the checkpoints stored under the stage (complete or not). */
    private List<String> storedRefs() throws IOException {
        return store.list(checkpoints()).stream().map(k -> k.substring(checkpoints().length() + 1))
                .map(k -> {
                    String[] parts = k.split("/");
                    if (parts.length >= 2 && Checkpointer.isName(parts[0])) {
                        return parts[0];
                    }
                    if (parts.length >= 3 && Checkpointer.isName(parts[1])) {
                        return parts[0] + "/" + parts[1];
                    }
                    return null;
                }).filter(r -> r != null && isRef(r)).distinct().sorted(BY_STEP).toList();
    }

    private String checkpoints() {
        return base + "/checkpoints";
    }

    /** The checkpoint LATEST names in the store, if any. */
    Optional<String> latest() throws IOException {
        return store.getString(checkpoints() + "/" + Checkpointer.LATEST).map(String::strip)
                .filter(TrainingWorkspace::isRef);
    }

    /** Whether this attempt may still write what other attempts read. */
    boolean mayPublish() {
        return !beats.leaseLost();
    }

    /**
     * Uploads a checkpoint folder, then points LATEST at it (only once every file is stored, so LATEST never names
     * an incomplete checkpoint, and only forward); retries with backoff while the store is unreachable,
     * heartbeating. Returns the checkpoint's URI, or null when this attempt lost its lease and wrote nothing.
     */
    String publish(Path dir, Runnable midUpload) {
        String name = writer + "/" + dir.getFileName().toString();
        String prefix = checkpoints() + "/" + name;
        long deadline = System.currentTimeMillis() + UPLOAD_RETRY_MILLIS;
        long wait = 500;
        while (true) {
            if (!mayPublish()) {
                LOG.warn("checkpoint {} not published: this attempt lost its lease", name);
                return null;
            }
            try {
                List<Path> files;
                try (var walk = Files.walk(dir)) {
                    // the manifest goes last: a stored checkpoint with a manifest has all its files
                    files = walk.filter(Files::isRegularFile).sorted(java.util.Comparator.comparing(
                            (Path f) -> f.getFileName().toString().equals(Checkpointer.MANIFEST))
                            .thenComparing(Path::toString)).toList();
                }
                for (int i = 0; i < files.size(); i++) {
                    Path f = files.get(i);
                    store.putFile(prefix + "/" + dir.relativize(f).toString().replace('\\', '/'), f);
                    if (i == 0) {
                        midUpload.run();
                    }
                }
                moveLatestForward(name);
                break;
            } catch (IOException | RuntimeException e) {
                if (System.currentTimeMillis() + wait > deadline) {
                    throw new UncheckedIOException(new IOException("checkpoint upload to " + store.uri(prefix)
                            + " failed for " + UPLOAD_RETRY_MILLIS / 1000 + " s: " + e.getMessage(), e));
                }
                LOG.warn("checkpoint upload to {} failed ({}); retrying in {} ms", store.uri(prefix), e.getMessage(),
                        wait);
                beats.beat();
                try {
                    Thread.sleep(wait);
                } catch (InterruptedException ie) {
                    Thread.currentThread().interrupt();
                    throw new IllegalStateException("interrupted during checkpoint upload", ie);
                }
                wait = Math.min(wait * 2, 10_000);
            }
        }
        prune();
        return store.uri(prefix);
    }

    /**
     * Points LATEST at {@code name} unless it names a later step already: a compare-and-set on the text read, so of
     * two racing writers the later step wins and LATEST never moves backwards.
     */
    private void moveLatestForward(String name) throws IOException {
        String key = checkpoints() + "/" + Checkpointer.LATEST;
        for (int tries = 0; tries < 20; tries++) {
            Optional<String> stored = store.getString(key);
            Optional<String> current = stored.map(String::strip).filter(TrainingWorkspace::isRef);
            if (current.isPresent() && Checkpointer.BY_STEP.compare(stepName(current.get()), stepName(name)) >= 0) {
                if (!current.get().equals(name)) {
                    LOG.info("LATEST stays at {}: another attempt published it after {}", current.get(), name);
                }
                return;
            }
            if (!mayPublish()) {
                return;
            }
            if (store.putStringIf(key, stored.orElse(null), name)) {
                return;
            }
            // another writer moved LATEST between the read and the write: read again and decide again
        }
        throw new IOException("LATEST under " + store.uri(checkpoints()) + " kept changing; " + name + " not published");
    }

    /** Keeps the two newest checkpoints and the one LATEST names; removes the rest. */
    private void prune() {
        try {
            Optional<String> latest = latest();
            List<String> names = storedRefs();
            for (int i = 0; i < names.size() - 2; i++) {
                if (latest.isPresent() && latest.get().equals(names.get(i))) {
                    continue;
                }
                store.deletePrefix(checkpoints() + "/" + names.get(i));
            }
        } catch (IOException e) {
            LOG.warn("could not prune old checkpoints under {}: {}", store.uri(base), e.getMessage());
        }
    }

    /**
     * Makes the newest durable checkpoint (the newer of the heartbeat's and the stored LATEST) available locally,
     * so that the trainer resumes from it; a corrupt or incomplete one falls back to an older one.
     */
    void fetchNewest(TrainHeartbeat beat) throws IOException {
        List<String> candidates = new ArrayList<>();
        latest().ifPresent(candidates::add);
        if (beat != null && beat.checkpointUri() != null) {
            store.keyOf(beat.checkpointUri()).filter(k -> k.startsWith(checkpoints() + "/"))
                    .map(k -> k.substring(checkpoints().length() + 1)).ifPresent(candidates::add);
        }
        candidates.addAll(storedRefs());
        // the newest first: LATEST's, the heartbeat's, then any older one (a corrupt newest falls back)
        List<String> ordered = candidates.stream().filter(TrainingWorkspace::isRef).distinct()
                .sorted(BY_STEP.reversed()).toList();
        for (String ref : ordered) {
            String name = stepName(ref);
            Path target = local.resolve(name);
            try {
                if (!Files.isRegularFile(target.resolve(Checkpointer.MANIFEST))) {
                    Path tmp = local.resolve(name + ".download");
                    if (Files.exists(tmp)) {
                        Checkpointer.deleteTree(tmp);
                    }
                    store.getDirectory(checkpoints() + "/" + ref, tmp);
                    if (!Files.isRegularFile(tmp.resolve(Checkpointer.MANIFEST))) {
                        Checkpointer.deleteTree(tmp);
                        throw new IOException("incomplete (no manifest)");
                    }
                    try {
                        new Checkpointer(local, 2).restore(tmp);
                    } catch (dev.tract.judge.train.CorruptCheckpointException e) {
                        Checkpointer.deleteTree(tmp);
                        throw new IOException(e.getMessage());
                    }
                    if (Files.exists(target)) {
                        Checkpointer.deleteTree(target);
                    }
                    Files.move(tmp, target);
                }
                Files.writeString(local.resolve(Checkpointer.LATEST), name + "\n", StandardCharsets.UTF_8);
                LOG.info("resuming from stored checkpoint {}", ref);
                return;
            } catch (IOException e) {
                LOG.warn("stored checkpoint {} unusable ({}); trying an older one", ref, e.getMessage());
            }
        }
    }

    /** Told when a checkpoint is stored and LATEST moved (uri null when this attempt lost its lease). */
    interface Published {
        void published(int step, String uri);
    }

    private record Pending(Path snapshot, int step, Runnable midUpload, Published done) {}

    private final java.util.concurrent.ExecutorService uploader = java.util.concurrent.Executors
            .newSingleThreadExecutor(r -> {
                Thread t = new Thread(r, "checkpoint-upload");
                t.setDaemon(true);
                return t;
            });
    private java.util.concurrent.Future<?> inFlight;
    private Pending queued;
    private volatile RuntimeException uploadFailure;
    private double waitedSeconds;

    /**
     * Publishes a checkpoint in the background while training goes on: the checkpoint folder is snapshotted (hard
     * links, so the trainer may prune its own copy), and uploaded by one thread; at most one upload is in flight,
     * and a newer checkpoint replaces one still queued. An upload that failed for good fails the next call.
     */
    synchronized void publishInBackground(Path dir, int step, Runnable midUpload, Published done) throws IOException {
        throwIfFailed();
        Pending p = new Pending(snapshot(dir), step, midUpload, done);
        if (inFlight != null && !inFlight.isDone()) {
            if (queued != null) {
                Checkpointer.deleteTree(queued.snapshot().getParent());
            }
            queued = p;
            return;
        }
        start(p);
    }

    private synchronized void start(Pending p) {
        inFlight = uploader.submit(() -> {
            try {
                String uri = publish(p.snapshot(), p.midUpload());
                p.done().published(p.step(), uri);
            } catch (RuntimeException e) {
                uploadFailure = e;
            } finally {
                try {
                    Checkpointer.deleteTree(p.snapshot().getParent());
                } catch (IOException e) {
                    LOG.debug("could not remove the upload snapshot {}", p.snapshot(), e);
                }
            }
            synchronized (this) {
                if (queued != null && uploadFailure == null) {
                    Pending next = queued;
                    queued = null;
                    start(next);
                }
            }
        });
    }

    /** A copy of a checkpoint folder made of hard links (a copy where the file system has none). */
    private Path snapshot(Path dir) throws IOException {
        Path target = local.resolveSibling("uploads").resolve(dir.getFileName() + "-" + System.nanoTime())
                .resolve(dir.getFileName().toString());
        Files.createDirectories(target);
        try (var walk = Files.walk(dir)) {
            for (Path f : walk.filter(Files::isRegularFile).toList()) {
                Path t = target.resolve(dir.relativize(f).toString());
                Files.createDirectories(t.getParent());
                try {
                    Files.createLink(t, f);
                } catch (IOException | UnsupportedOperationException e) {
                    Files.copy(f, t);
                }
            }
        }
        return target;
    }

    /**
     * Waits until every checkpoint handed to {@link #publishInBackground} is stored (or given up for a lost lease);
     * the time waited is training time lost to storage.
     */
    void flush() throws IOException {
        long start = System.nanoTime();
        while (true) {
            java.util.concurrent.Future<?> f;
            synchronized (this) {
                f = inFlight;
                if (queued == null && (f == null || f.isDone())) {
                    break;
                }
            }
            try {
                f.get();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted while waiting for a checkpoint upload", e);
            } catch (java.util.concurrent.ExecutionException e) {
                throw new IOException(e.getCause());
            }
            beats.beat();
        }
        waitedSeconds += (System.nanoTime() - start) / 1e9;
        throwIfFailed();
    }

    /** Seconds the training thread waited for uploads (in {@link #flush()}). */
    double waitedSeconds() {
        return waitedSeconds;
    }

    private void throwIfFailed() {
        RuntimeException e = uploadFailure;
        if (e != null) {
            throw e;
        }
    }

    /** Stops the upload thread (after {@link #flush()}, or when the attempt fails). */
    void close() {
        uploader.shutdownNow();
    }

    /** Removes the stored and local checkpoints (they belong to another run). */
    void clear() throws IOException {
        store.deletePrefix(checkpoints());
        Checkpointer.deleteTree(local);
        Files.createDirectories(local);
    }
}
