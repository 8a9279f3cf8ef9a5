package dev.tract.workflows;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/** Stage cache keys: a digest of everything that determines a stage's output. Pure, so usable in workflow code. */
public final class CacheKeys {
    /**
     * The version of what the stages compute. Bump it with any change that makes a stage output something else for
     * the same inputs (the trainer, the objectives, encoding and prompt templates, generation and scoring, a preset's
     * architecture or initialisation): every key changes with it, so nothing computed before the change is reused.
     * Changes that leave every output identical (logging, orchestration, storage) keep it.
     */
    public static final String METHOD_VERSION = "2026-12-02.1";

    private CacheKeys() {}

    /** A digest of the method version and the parts. */
    public static String of(Object... parts) {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            md.update(METHOD_VERSION.getBytes(StandardCharsets.UTF_8));
            md.update((byte) 0);
            for (Object p : parts) {
                md.update(String.valueOf(p).getBytes(StandardCharsets.UTF_8));
                md.update((byte) 0);
            }
            return HexFormat.of().formatHex(md.digest()).substring(0, 32);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
