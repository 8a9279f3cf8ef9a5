package dev.tract.activities.artifacts;

import java.io.IOException;

/** A stored file whose content does not match the sha256 recorded when it was written. */
public class CorruptArtifactException extends IOException {
    public CorruptArtifactException(String message) {
        super(message);
    }
}
