package dev.tract.activities.artifacts;

import dev.tract.judge.JudgeInputException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.file.Path;

/** Opens the store for an artifact root URI. */
public final class ArtifactStores {
    private ArtifactStores() {}

    public static ArtifactStore open(String root) {
        return open(root, null);
    }

    /** @param s3 settings for s3:// roots; null reads them from the environment */
    public static ArtifactStore open(String root, S3ArtifactStore.Settings s3) {
        URI uri = URI.create(root);
        try {
            if ("file".equals(uri.getScheme())) {
                return new LocalArtifactStore(Path.of(uri));
            }
            if ("s3".equals(uri.getScheme())) {
                return new S3ArtifactStore(uri, s3 != null ? s3 : S3ArtifactStore.Settings.fromEnv());
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        throw new JudgeInputException("artifact_root", "artifact_root", "'" + root + "' is not a file:// or s3:// URI");
    }
}
