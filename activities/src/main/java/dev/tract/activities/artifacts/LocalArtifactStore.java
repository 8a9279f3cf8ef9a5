package dev.tract.activities.artifacts;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

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
        Path tmp = Digests.aside(target);
        Files.copy(file, tmp, StandardCopyOption.REPLACE_EXISTING);
        Path digest = digestPath(key);
        Files.createDirectories(digest.getParent());
        Path digestTmp = Digests.aside(digest);
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
        Path tmp = Digests.aside(target);
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
        walk(dir, (f, attrs) -> {
            if (attrs.isRegularFile() && !f.getFileName().toString().contains(".tmp-")) {
                out.add(root.relativize(f).toString().replace('\\', '/'));
            }
        }, false);
        out.sort(Comparator.naturalOrder());
        return out;
    }

    @Override
    public void deletePrefix(String prefix) throws IOException {
        for (Path p : new Path[] {root.resolve(Keys.check(prefix)), root.resolve(DIGESTS).resolve(prefix)}) {
            walk(p, (f, attrs) -> Files.deleteIfExists(f), true);
        }
    }

    private interface FileAction {
        void accept(Path file, BasicFileAttributes attrs) throws IOException;
    }

    /**
     * Visits the files under {@code dir} (and removes each folder after its files when {@code deleteFolders}),
     * passing over whatever another writer removes meanwhile: two trainings of the same stage on one worker prune
     * one checkpoint folder, and neither fails because the other got to a file first.
     */
    private static void walk(Path dir, FileAction action, boolean deleteFolders) throws IOException {
        Files.walkFileTree(dir, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                action.accept(file, attrs);
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult visitFileFailed(Path file, IOException e) throws IOException {
                if (e instanceof NoSuchFileException) {
                    return FileVisitResult.CONTINUE;
                }
                throw e;
            }

            @Override
            public FileVisitResult postVisitDirectory(Path d, IOException e) throws IOException {
                if (e != null && !(e instanceof NoSuchFileException)) {
                    throw e;
                }
                if (deleteFolders) {
                    try {
                        Files.deleteIfExists(d);
                    } catch (DirectoryNotEmptyException written) {
                        // another writer put a file here after the walk passed: it stays
                    }
                }
                return FileVisitResult.CONTINUE;
            }
        });
    }
}
