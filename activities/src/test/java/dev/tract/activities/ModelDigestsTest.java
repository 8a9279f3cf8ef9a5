package dev.tract.activities;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.tract.activities.artifacts.CorruptArtifactException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A seed model's identity covers every byte, so a change anywhere in it gives the stages new keys. */
class ModelDigestsTest {
    @TempDir
    Path tmp;

    private Path model() throws Exception {
        Path dir = tmp.resolve("model");
        Files.createDirectories(dir);
        byte[] weights = new byte[5 << 20];
        new Random(1).nextBytes(weights);
        Files.write(dir.resolve("model.safetensors"), weights);
        Files.writeString(dir.resolve("config.json"), "{\"hidden_size\": 64}");
        Files.writeString(dir.resolve(".complete"), "marker");
        return dir;
    }

    @Test
    void oneByteChangedInTheMiddleOfTheWeightsGivesANewDigest() throws Exception {
        Path dir = model();
        Path cache = tmp.resolve("digests");
        String before = ModelDigests.of(dir, cache);
        assertThat(ModelDigests.of(dir, cache)).isEqualTo(before);
        byte[] w = Files.readAllBytes(dir.resolve("model.safetensors"));
        w[w.length / 2] ^= 1; // the middle: neither the first nor the last MiB
        Files.write(dir.resolve("model.safetensors"), w);
        String after = ModelDigests.of(dir, cache);
        assertThat(after).startsWith("sha256:").isNotEqualTo(before);
        Files.writeString(dir.resolve(".complete"), "another marker");
        assertThat(ModelDigests.of(dir, cache)).as("hidden marker files are not the model").isEqualTo(after);
    }

    @Test
    void aModelThatIsNotWhatItsDigestSaysIsRefusedByName() throws Exception {
        Path dir = model();
        Path cache = tmp.resolve("digests");
        String digest = ModelDigests.of(dir, cache);
        ModelDigests.verify(dir, digest, "s3://bucket/models/judge", cache);
        Files.writeString(dir.resolve("config.json"), "{\"hidden_size\": 65}");
        assertThatThrownBy(() -> ModelDigests.verify(dir, digest, "s3://bucket/models/judge", cache))
                .isInstanceOf(CorruptArtifactException.class).hasMessageContaining("s3://bucket/models/judge")
                .hasMessageContaining(digest);
    }
}
