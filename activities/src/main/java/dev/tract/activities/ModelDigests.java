package dev.tract.activities;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tract.activities.artifacts.CorruptArtifactException;
import dev.tract.activities.artifacts.Digests;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.Stream;

/**
 * The identity of a model folder: a sha256 over every byte of every file in it (names, sizes and contents, in name
 * order; hidden files such as markers are left out), so two models that differ anywhere get different cache keys.
 * Reading a 14 GB checkpoint takes a while, so a worker remembers the digest of a folder together with the size and
 * modification time of each file, and reads the bytes again only when one of them changed.
 */
final class ModelDigests {
    private static final ObjectMapper JSON = new ObjectMapper();

    private ModelDigests() {}

    static String of(Path dir, Path cacheDir) throws IOException {
        List<Path> files;
        try (Stream<Path> walk = Files.walk(dir)) {
            files = walk.filter(Files::isRegularFile).filter(f -> !dir.relativize(f).toString().startsWith("."))
                    .filter(f -> !f.getFileName().toString().startsWith(".")).sorted().toList();
        }
        ObjectNode stamp = JSON.createObjectNode();
        for (Path f : files) {
            stamp.putArray(dir.relativize(f).toString().replace('\\', '/')).add(Files.size(f))
                    .add(Files.getLastModifiedTime(f).toMillis());
        }
        Path cached = cacheDir.resolve(Digests.sha256Hex(dir.toAbsolutePath().normalize().toString()) + ".json");
        if (Files.isRegularFile(cached)) {
            try {
                ObjectNode c = (ObjectNode) JSON.readTree(cached.toFile());
                if (stamp.equals(c.get("files"))) {
                    return c.get("digest").asText();
                }
            } catch (IOException | ClassCastException e) {
                // a damaged cache entry: read the bytes again
            }
        }
        MessageDigest md = Digests.sha();
        byte[] buf = new byte[1 << 20];
        for (Path f : files) {
            md.update(dir.relativize(f).toString().replace('\\', '/').getBytes(StandardCharsets.UTF_8));
            md.update((byte) 0);
            md.update(Long.toString(Files.size(f)).getBytes(StandardCharsets.UTF_8));
            md.update((byte) 0);
            try (InputStream in = Files.newInputStream(f)) {
                for (int n; (n = in.read(buf)) > 0; ) {
                    md.update(buf, 0, n);
                }
            }
        }
        String digest = "sha256:" + HexFormat.of().formatHex(md.digest());
        Files.createDirectories(cacheDir);
        ObjectNode c = JSON.createObjectNode().put("digest", digest);
        c.set("files", stamp);
        Path tmp = cacheDir.resolve(cached.getFileName() + ".tmp-" + System.nanoTime());
        JSON.writeValue(tmp.toFile(), c);
        Files.move(tmp, cached, java.nio.file.StandardCopyOption.REPLACE_EXISTING,
                java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        return digest;
    }

    /** Refuses a model folder whose content is not what its digest says, naming the artifact. */
    static void verify(Path dir, String expected, String artifact, Path cacheDir) throws IOException {
        String actual = of(dir, cacheDir);
        if (!actual.equals(expected)) {
            throw new CorruptArtifactException(artifact + ": the model's content digest " + actual
                    + " does not match the recorded " + expected + " (changed or damaged since it was recorded)");
        }
    }
}
