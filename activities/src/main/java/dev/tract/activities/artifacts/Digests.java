package dev.tract.activities.artifacts;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/** sha256 of files. */
public final class Digests {
    private Digests() {}

    public static String sha256(Path file) throws IOException {
        MessageDigest md = sha();
        try (InputStream in = Files.newInputStream(file)) {
            byte[] buf = new byte[1 << 16];
            int n;
            while ((n = in.read(buf)) > 0) {
                md.update(buf, 0, n);
            }
        }
        return HexFormat.of().formatHex(md.digest());
    }

    /**
     * Moves a downloaded temporary file into place once its sha256 equals {@code want} (null: nothing recorded,
     * moved as it is); on a mismatch deletes it and throws, leaving {@code target} as it was.
     */
    static void verifyAndMove(Path tmp, Path target, String want, String uri) throws IOException {
        if (want != null) {
            String got = sha256(tmp);
            if (!want.equals(got)) {
                Files.deleteIfExists(tmp);
                throw new CorruptArtifactException(uri + ": sha256 " + got + " does not match the recorded " + want);
            }
        }
        Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
    }

    /**
     * A fresh name beside {@code target} to write into before moving into place: unique to this call, so that two
     * activities writing the same file at once on one worker never share a half-written one.
     */
    public static Path aside(Path target) {
        return target.resolveSibling(target.getFileName() + ".tmp-" + java.util.UUID.randomUUID());
    }

    /** The sha256 of a string, in hex. */
    public static String sha256Hex(String text) {
        return java.util.HexFormat.of().formatHex(sha().digest(text.getBytes(java.nio.charset.StandardCharsets.UTF_8)));
    }

    public static MessageDigest sha() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
