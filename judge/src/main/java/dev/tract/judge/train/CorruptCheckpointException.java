package dev.tract.judge.train;

/** A checkpoint whose files do not match the sha256 digests of its MANIFEST (or that has no manifest). */
public class CorruptCheckpointException extends RuntimeException {
    public CorruptCheckpointException(String message) {
        super(message);
    }
}
