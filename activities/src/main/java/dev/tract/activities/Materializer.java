package dev.tract.activities;

import dev.tract.activities.artifacts.ArtifactStore;
import dev.tract.activities.artifacts.ArtifactStores;
import dev.tract.activities.artifacts.Digests;
import dev.tract.judge.JudgeInputException;
import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/** Local copies of stored models and datasets, kept in the worker's work folder and reused across activities. */
final class Materializer {
    private final Path workDir;
    private final dev.tract.workflows.spec.Destinations destinations;

    Materializer(Path workDir, dev.tract.workflows.spec.Destinations destinations) {
        this.workDir = workDir;
        this.destinations = destinations;
    }

    /** Refuses, before touching it, a location outside the worker's data and artifact roots. */
    private void check(String uri, String what) {
        String problem = destinations.dataProblem(uri);
        if (problem != null) {
            throw Failures.refused(what + " " + problem);
        }
    }

    /** A local folder holding the model at {@code uri} (file: URIs and plain paths are used in place). */
    Path directory(String uri, ArtifactStore store) throws IOException {
        check(uri, "model directory");
        if (!uri.startsWith("s3://")) {
            return local(uri, "model directory");
        }
        Path dir = workDir.resolve("cache").resolve(name(uri));
        if (Files.isRegularFile(dir.resolve(".complete"))) {
            return dir;
        }
        try (Source s = source(uri, store)) {
            Files.createDirectories(dir);
            s.store().getDirectory(s.key(), dir);
        }
        Files.writeString(dir.resolve(".complete"), uri, StandardCharsets.UTF_8);
        return dir;
    }

    /** Drops the local copy of a stored model, so that the next use fetches it again; false for local folders. */
    boolean evict(String uri) throws IOException {
        if (!uri.startsWith("s3://")) {
            return false;
        }
        Path dir = workDir.resolve("cache").resolve(name(uri));
        if (Files.isDirectory(dir)) {
            try (var walk = Files.walk(dir)) {
                for (Path p : walk.sorted(java.util.Comparator.reverseOrder()).toList()) {
                    Files.deleteIfExists(p);
                }
            }
        }
        return true;
    }

    /** A local file holding the dataset at {@code uri}. */
    Path file(String uri, ArtifactStore store) throws IOException {
        check(uri, "data file");
        if (!uri.startsWith("s3://")) {
            return local(uri, "data file");
        }
        Path file = workDir.resolve("cache").resolve(name(uri) + ".jsonl");
        if (Files.isRegularFile(file)) {
            return file;
        }
        try (Source s = source(uri, store)) {
            s.store().getFile(s.key(), file);
        }
        return file;
    }

    private static Path local(String uri, String what) {
        Path p = uri.startsWith("file:") ? Path.of(URI.create(uri)) : Path.of(uri);
        if (!Files.exists(p)) {
            throw new JudgeInputException(uri, null, what + " not found");
        }
        return p;
    }

    private static String name(String uri) {
        var md = Digests.sha();
        return java.util.HexFormat.of().formatHex(md.digest(uri.getBytes(StandardCharsets.UTF_8))).substring(0, 24);
    }

    /** The store and key of a URI: the pipeline's store when the URI is under it, else a store at its bucket. */
    private record Source(ArtifactStore store, String key, boolean owned) implements AutoCloseable {
        @Override
        public void close() {
            if (owned) {
                store.close();
            }
        }
    }

    private static Source source(String uri, ArtifactStore store) {
        var key = store.keyOf(uri);
        if (key.isPresent()) {
            return new Source(store, key.get(), false);
        }
        URI u = URI.create(uri);
        String path = u.getPath().startsWith("/") ? u.getPath().substring(1) : u.getPath();
        return new Source(ArtifactStores.open("s3://" + u.getHost()), path.endsWith("/")
                ? path.substring(0, path.length() - 1) : path, true);
    }
}
