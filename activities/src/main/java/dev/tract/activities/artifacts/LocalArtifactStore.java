package dev.tract.activities.artifacts;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/**
 * Artifacts in a local folder. Each file's sha256 sits in a parallel tree under {@code .sha256/}; files are
 * written to a temporary name and renamed, so a reader never sees half a file.
 */
public final class LocalArtifactStore implements ArtifactStore {
    static final String DIGESTS = ".sha256";
    private final Path root;

    public LocalArtifactStore(Path root) throws IOException {
        this.root = root.toAbsolutePath().normalize();
        Files.createDirectories(this.root);
    }

    @Override
    public String root() {
        String u = root.toUri().toString();
        return u.endsWith("/") ? u.substring(0, u.length() - 1) : u;
    }

    public Path path(String key) {
        return root.resolve(Keys.check(key));
    }

    private Path digestPath(String key) {
        return root.resolve(DIGESTS).resolve(Keys.check(key) + ".sha256");
    }

    @Override
    public void putFile(String key, Path file) throws IOException {
        Path target = path(key);
        Files.createDirectories(target.getParent());
        String sha = Digests.sha256(file);
        Path tmp = target.resolveSibling(target.getFileName() + ".tmp-" + System.nanoTime());
        Files.copy(file, tmp, StandardCopyOption.REPLACE_EXISTING);
        Path digest = digestPath(key);
        Files.createDirectories(digest.getParent());
        Path digestTmp = digest.resolveSibling(digest.getFileName() + ".tmp-" + System.nanoTime());
        Files.writeString(digestTmp, sha, StandardCharsets.UTF_8);
        Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        Files.move(digestTmp, digest, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    /** Compare-and-set under an exclusive lock of {@code <key>.lock}, which every process on this host honours. */
    @Override
    public boolean putStringIf(String key, String expected, String text) throws IOException {
        Path lock = path(key).resolveSibling(path(key).getFileName() + ".lock");
        Files.createDirectories(lock.getParent());
        try (java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(lock,
                java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.WRITE);
             java.nio.channels.FileLock ignored = ch.lock()) {
            return ArtifactStore.super.putStringIf(key, expected, text);
        }
    }

    @Override
    public void getFile(String key, Path target) throws IOException {
        Path source = path(key);
        if (!Files.isRegularFile(source)) {
            throw new java.io.FileNotFoundException(uri(key));
        }
        Files.createDirectories(target.toAbsolutePath().getParent());
        Path tmp = target.resolveSibling(target.getFileName() + ".part");
        Files.copy(source, tmp, StandardCopyOption.REPLACE_EXISTING);
        Path digest = digestPath(key);
        String want = Files.isRegularFile(digest) ? Files.readString(digest, StandardCharsets.UTF_8).strip() : null;
        Digests.verifyAndMove(tmp, target, want, uri(key));
    }

    @Override
    public boolean exists(String key) {
        return Files.isRegularFile(path(key));
    }

    @Override
    public List<String> list(String prefix) throws IOException {
        Path dir = root.resolve(Keys.check(prefix));
        List<String> out = new ArrayList<>();
        if (!Files.isDirectory(dir)) {
            return out;
        }
        try (Stream<Path> files = Files.walk(dir)) {
            files.filter(Files::isRegularFile).filter(f -> !f.getFileName().toString().contains(".tmp-"))
                    .forEach(f -> out.add(root.relativize(f).toString().replace('\\', '/')));
        }
        out.sort(Comparator.naturalOrder());
        return out;
    }

    @Override
    public void deletePrefix(String prefix) throws IOException {
        for (Path p : new Path[] {root.resolve(Keys.check(prefix)), root.resolve(DIGESTS).resolve(prefix)}) {
            if (Files.exists(p)) {
                try (Stream<Path> s = Files.walk(p)) {
                    for (Path q : s.sorted(Comparator.reverseOrder()).toList()) {
                        Files.deleteIfExists(q);
                    }
                }
            }
        }
    }
}
