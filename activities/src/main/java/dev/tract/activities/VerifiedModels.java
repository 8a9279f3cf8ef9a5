package dev.tract.activities;

import dev.tract.activities.artifacts.ArtifactStore;
import dev.tract.activities.artifacts.CorruptArtifactException;
import java.io.IOException;
import java.nio.file.Path;

/** Models as their readers get them: a local folder whose content was checked against the recorded digest. */
final class VerifiedModels {
    private final Materializer materializer;
    private final Path digests;

    /** @param digests where this worker remembers model digests ({@link ModelDigests}) */
    VerifiedModels(Materializer materializer, Path digests) {
        this.materializer = materializer;
        this.digests = digests;
    }

    Path digests() {
        return digests;
    }

    /**
     * The local folder of a model whose content is verified against its digest; a stale local copy of a stored model
     * is fetched again once before the model is refused, naming it.
     */
    Path verified(String uri, String digest, ArtifactStore store) throws IOException {
        Path dir = materializer.directory(uri, store);
        try {
            ModelDigests.verify(dir, digest, uri, digests);
        } catch (CorruptArtifactException e) {
            if (!materializer.evict(uri)) {
                throw e;
            }
            dir = materializer.directory(uri, store);
            ModelDigests.verify(dir, digest, uri, digests);
        }
        return dir;
    }
}
