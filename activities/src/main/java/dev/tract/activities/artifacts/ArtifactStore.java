package dev.tract.activities.artifacts;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * Where pipelines keep everything: a local folder ({@code file://}) or S3 ({@code s3://}). Keys are '/'-separated
 * paths under the root. Every file's sha256 is recorded when it is written and verified when it is read back.
 */
public interface ArtifactStore extends AutoCloseable {
    /** The root URI, e.g. {@code file:///data/tract-runs} or {@code s3://bucket/prefix}. */
    String root();

    /** The full URI of a key. */
    default String uri(String key) {
        return root() + "/" + Keys.check(key);
    }

    /** The key of a URI under this root, or empty when the URI is elsewhere. */
    default Optional<String> keyOf(String uri) {
        String prefix = root() + "/";
        return uri.startsWith(prefix) ? Optional.of(uri.substring(prefix.length())) : Optional.empty();
    }

    /** Stores a file under a key (replacing any previous content), recording its sha256. */
    void putFile(String key, Path file) throws IOException;

    /** Fetches a key into a file, verifying its sha256; fails with {@link CorruptArtifactException} otherwise. */
    void getFile(String key, Path target) throws IOException;

    boolean exists(String key) throws IOException;

    /** Keys under a prefix (recursively), sorted. */
    List<String> list(String prefix) throws IOException;

    void deletePrefix(String prefix) throws IOException;

    default void putString(String key, String text) throws IOException {
        Path tmp = Files.createTempFile("tract-put", ".tmp");
        try {
            Files.writeString(tmp, text, StandardCharsets.UTF_8);
            putFile(key, tmp);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    /**
     * Writes a small text only if the key still holds {@code expected} (absent when null): a compare-and-set, atomic
     * where the store can make it so (a file lock on a file system, a conditional put on S3). False when another
     * writer changed it first; the caller reads again and decides.
     */
    default boolean putStringIf(String key, String expected, String text) throws IOException {
        Optional<String> current = getString(key);
        if (!java.util.Objects.equals(current.orElse(null), expected)) {
            return false;
        }
        putString(key, text);
        return true;
    }

    default Optional<String> getString(String key) throws IOException {
        if (!exists(key)) {
            return Optional.empty();
        }
        Path tmp = Files.createTempFile("tract-get", ".tmp");
        try {
            getFile(key, tmp);
            return Optional.of(Files.readString(tmp, StandardCharsets.UTF_8));
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    /** Stores every file of a directory under prefix/relative-path. */
    default void putDirectory(String prefix, Path dir) throws IOException {
        try (Stream<Path> files = Files.walk(dir)) {
            for (Path f : files.filter(Files::isRegularFile).sorted().toList()) {
                putFile(prefix + "/" + dir.relativize(f).toString().replace('\\', '/'), f);
            }
        }
    }

    /** Fetches every key under prefix into a directory. */
    default void getDirectory(String prefix, Path dir) throws IOException {
        for (String key : list(prefix)) {
            Path target = dir.resolve(key.substring(prefix.length() + 1));
            Files.createDirectories(target.getParent());
            getFile(key, target);
        }
    }

    @Override
    default void close() {}
}
