package dev.tract.activities.artifacts;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import org.gaul.s3proxy.S3Proxy;
import org.gaul.s3proxy.auth.AuthenticationType;
import org.gaul.s3proxy.blobstore.BlobStore;
import org.gaul.s3proxy.nio2blob.FilesystemNio2BlobStore;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.HeadObjectResponse;
import software.amazon.awssdk.services.s3.model.ObjectIdentifier;
import software.amazon.awssdk.services.s3.model.PutObjectRequest;
import software.amazon.awssdk.services.s3.model.S3Object;

/**
 * {@link S3ArtifactStore} against s3proxy running in-process on a free localhost port, with its filesystem back
 * end in a temporary folder: the real S3 protocol (SigV4, multipart uploads, ListObjectsV2, DeleteObjects).
 *
 * <p>One server, one bucket and one store serve all tests (closing a store takes about 2 s, its async client's
 * event loop shutting down); the bucket is emptied before each test so tests do not see each other's objects.
 */
class S3ArtifactStoreTest {
    private static final String BUCKET = "bucket";
    private static final String IDENTITY = "tract-test-access-key";
    private static final String CREDENTIAL = "tract-test-secret-key";

    @TempDir
    static Path blobs;

    private static S3Proxy proxy;
    /** The server's storage, to seed many objects without a request each. */
    private static BlobStore backend;
    private static URI endpoint;
    /** A plain client that talks to the server behind the store's back. */
    private static S3Client raw;
    private static final List<S3ArtifactStore> opened = new ArrayList<>();
    /** The store under test, on {@code s3://bucket/prefix}. */
    private static S3ArtifactStore store;

    @TempDir
    Path tmp;

    @BeforeAll
    static void startS3Proxy() throws Exception {
        backend = new FilesystemNio2BlobStore(blobs.toString());
        S3Proxy p = S3Proxy.builder()
                .blobStore(backend)
                .endpoint(URI.create("http://127.0.0.1:0")) // port 0: any free port, read back with getPort()
                .awsAuthentication(AuthenticationType.AWS_V2_OR_V4, IDENTITY, CREDENTIAL)
                // the SDK's multipart uploads send x-amz-mp-object-size, which s3proxy rejects otherwise
                .ignoreUnknownHeaders(true)
                .build();
        proxy = p;
        p.start();
        for (int i = 0; i < 500 && !"STARTED".equals(p.getState()); i++) {
            Thread.sleep(10);
        }
        assertThat(p.getState()).isEqualTo("STARTED");
        endpoint = URI.create("http://127.0.0.1:" + p.getPort());
        raw = S3Client.builder().region(Region.US_EAST_1).endpointOverride(endpoint).forcePathStyle(true)
                .credentialsProvider(credentials()).build();
        raw.createBucket(b -> b.bucket(BUCKET));
        store = open("s3://" + BUCKET + "/prefix");
    }

    @AfterAll
    static void stopS3Proxy() throws Exception {
        // s3proxy's Jetty threads are not daemons: without stop() the forked test JVM never exits
        try {
            // each close waits about 2 s for its event loop: close them side by side
            opened.parallelStream().forEach(S3ArtifactStore::close);
            if (raw != null) {
                raw.close();
            }
        } finally {
            if (proxy != null) {
                proxy.stop();
            }
        }
    }

    private static StaticCredentialsProvider credentials() {
        return StaticCredentialsProvider.create(AwsBasicCredentials.create(IDENTITY, CREDENTIAL));
    }

    /** A store on another root of the same server, closed after all tests. */
    private static S3ArtifactStore open(String root) {
        S3ArtifactStore s = new S3ArtifactStore(URI.create(root),
                new S3ArtifactStore.Settings("us-east-1", endpoint, true, credentials()));
        opened.add(s);
        return s;
    }

    @BeforeEach
    void emptyBucket() {
        List<ObjectIdentifier> all = rawKeys().stream().map(k -> ObjectIdentifier.builder().key(k).build()).toList();
        for (int i = 0; i < all.size(); i += 1000) {
            List<ObjectIdentifier> batch = all.subList(i, Math.min(all.size(), i + 1000));
            raw.deleteObjects(b -> b.bucket(BUCKET).delete(d -> d.objects(batch)));
        }
        assertThat(rawKeys()).isEmpty();
    }

    // ---- helpers ----

    private Path write(Path file, String text) throws IOException {
        Files.createDirectories(file.getParent());
        return Files.writeString(file, text, StandardCharsets.UTF_8);
    }

    private Path randomFile(String name, long size, long seed) throws IOException {
        Path f = tmp.resolve(name);
        Random random = new Random(seed);
        byte[] buf = new byte[1 << 20];
        try (var out = Files.newOutputStream(f)) {
            for (long left = size; left > 0; left -= buf.length) {
                random.nextBytes(buf);
                out.write(buf, 0, (int) Math.min(buf.length, left));
            }
        }
        return f;
    }

    /** Every object key in the bucket, as the server has them. */
    private List<String> rawKeys() {
        List<String> keys = new ArrayList<>();
        for (S3Object o : raw.listObjectsV2Paginator(b -> b.bucket(BUCKET)).contents()) {
            keys.add(o.key());
        }
        return keys;
    }

    private void rawPut(String objectKey, String text) {
        raw.putObject(b -> b.bucket(BUCKET).key(objectKey), RequestBody.fromString(text));
    }

    /** Files under a folder, relative, '/'-separated and sorted. */
    private static List<String> tree(Path dir) throws IOException {
        try (Stream<Path> s = Files.walk(dir)) {
            return s.filter(Files::isRegularFile).map(f -> dir.relativize(f).toString().replace('\\', '/'))
                    .sorted().toList();
        }
    }

    /** The target's own name and any leftover next to it (target.part...), found in its folder. */
    private static List<String> siblingsNamed(Path target) throws IOException {
        if (!Files.isDirectory(target.getParent())) {
            return List.of();
        }
        try (Stream<Path> s = Files.list(target.getParent())) {
            return s.map(p -> p.getFileName().toString())
                    .filter(n -> n.startsWith(target.getFileName().toString())).toList();
        }
    }

    // ---- tests ----

    @Test
    void smallFileRoundTripsAndRecordsItsSha256() throws IOException {
        Path src = write(tmp.resolve("in/config.json"), "{\"lr\": 0.001, \"note\": \"héllo\"}\n");

        store.putFile("runs/r1/config.json", src);

        Path target = tmp.resolve("out/deeper/config.json"); // parent folders do not exist yet
        store.getFile("runs/r1/config.json", target);
        assertThat(target).hasSameBinaryContentAs(src);
        assertThat(siblingsNamed(target)).containsExactly("config.json"); // no leftover .part file

        // the object sits under the root's prefix, with its sha256 in x-amz-meta-sha256
        HeadObjectResponse head = raw.headObject(b -> b.bucket(BUCKET).key("prefix/runs/r1/config.json"));
        assertThat(head.metadata()).containsEntry("sha256", Digests.sha256(src));
        assertThat(head.contentLength()).isEqualTo(Files.size(src));
    }

    @Test
    void putFileReplacesPreviousContentAndGetFileOverwritesTheTarget() throws IOException {
        store.putFile("a/b.txt", write(tmp.resolve("v1.txt"), "version one"));
        store.putFile("a/b.txt", write(tmp.resolve("v2.txt"), "version two, longer"));

        Path target = write(tmp.resolve("out/b.txt"), "stale local content");
        store.getFile("a/b.txt", target);

        assertThat(target).hasContent("version two, longer");
        assertThat(store.list("a")).containsExactly("a/b.txt");
    }

    @Test
    void fileAboveTheMultipartThresholdRoundTripsIntact() throws IOException {
        long size = S3ArtifactStore.MULTIPART_THRESHOLD + (3L << 20) + 12345; // 19 MiB and a bit: 3 parts of 8 MiB
        Path src = randomFile("weights.safetensors", size, 42);
        String sha = Digests.sha256(src);

        store.putFile("models/m1/weights.safetensors", src);

        // it really went up as a multipart upload: multipart ETags end in -<number of parts>
        HeadObjectResponse head = raw.headObject(b -> b.bucket(BUCKET).key("prefix/models/m1/weights.safetensors"));
        assertThat(head.eTag()).matches("\"?[0-9a-f]{32}-3\"?");
        assertThat(head.contentLength()).isEqualTo(size);
        assertThat(head.metadata()).containsEntry("sha256", sha);

        Path target = tmp.resolve("back/weights.safetensors");
        store.getFile("models/m1/weights.safetensors", target);
        assertThat(Files.size(target)).isEqualTo(size);
        assertThat(Digests.sha256(target)).isEqualTo(sha);
    }

    @Test
    void directoryRoundTripsWithItsNestedFolders() throws IOException {
        Path dir = tmp.resolve("checkpoint");
        write(dir.resolve("config.json"), "{}");
        write(dir.resolve("tokenizer/tokenizer.json"), "{\"model\": {}}");
        write(dir.resolve("shards/0/part-00000.bin"), "zero");
        write(dir.resolve("shards/1/part-00001.bin"), "one");
        Files.write(dir.resolve("shards/empty.bin"), new byte[0]);

        store.putDirectory("runs/r1/checkpoint", dir);

        assertThat(store.list("runs/r1/checkpoint")).containsExactly(
                "runs/r1/checkpoint/config.json",
                "runs/r1/checkpoint/shards/0/part-00000.bin",
                "runs/r1/checkpoint/shards/1/part-00001.bin",
                "runs/r1/checkpoint/shards/empty.bin",
                "runs/r1/checkpoint/tokenizer/tokenizer.json");

        Path back = tmp.resolve("restored");
        store.getDirectory("runs/r1/checkpoint", back);
        assertThat(tree(back)).isEqualTo(tree(dir));
        for (String rel : tree(dir)) {
            assertThat(back.resolve(rel)).as(rel).hasSameBinaryContentAs(dir.resolve(rel));
        }
    }

    @Test
    void listReturnsExactlyTheKeysUnderThePrefixSorted() throws IOException {
        Path f = write(tmp.resolve("f"), "x");
        // written out of order on purpose
        for (String key : List.of("runs/r1/z.txt", "runs/r1/b/c.txt", "runs/r1/a.txt", "runs/r1/B.txt",
                "runs/r1/b/a/deep.txt", "runs/r10/not-me.txt", "runs/r1.json", "runs/other/r1/x.txt",
                "top.txt")) {
            store.putFile(key, f);
        }
        // objects outside the store's root, and next to it, are not the store's
        rawPut("prefix-other/runs/r1/a.txt", "x");
        rawPut("runs/r1/a.txt", "x");

        assertThat(store.list("runs/r1")).containsExactly(
                "runs/r1/B.txt", "runs/r1/a.txt", "runs/r1/b/a/deep.txt", "runs/r1/b/c.txt", "runs/r1/z.txt");
        assertThat(store.list("runs/r1/b")).containsExactly("runs/r1/b/a/deep.txt", "runs/r1/b/c.txt");
        assertThat(store.list("runs")).hasSize(8).isSorted();
        assertThat(store.list("runs/r1/a.txt")).isEmpty(); // a key is not a folder
        assertThat(store.list("nothing/here")).isEmpty();
    }

    @Test
    void listAndDeletePrefixPageThroughMoreThanAThousandKeys() throws IOException {
        // ListObjectsV2 returns at most 1000 keys a page and DeleteObjects takes at most 1000 keys a call
        List<String> keys = new ArrayList<>();
        for (int i = 0; i < 1005; i++) {
            keys.add(String.format("many/k%04d", i));
        }
        for (String k : keys) { // straight into the server's storage: a thousand PUTs would take seconds
            byte[] bytes = k.getBytes(StandardCharsets.UTF_8);
            backend.putBlob(PutObjectRequest.builder().bucket(BUCKET).key("prefix/" + k)
                    .contentLength((long) bytes.length).build(), new ByteArrayInputStream(bytes));
        }
        rawPut("prefix/keep/me", "kept");

        assertThat(store.list("many")).isEqualTo(keys);

        store.deletePrefix("many");

        assertThat(store.list("many")).isEmpty();
        assertThat(rawKeys()).containsExactly("prefix/keep/me");
    }

    @Test
    void existsIsTrueOnlyForStoredKeys() throws IOException {
        store.putFile("runs/r1/metrics.json", write(tmp.resolve("m.json"), "{\"pearson\": 0.8}"));

        assertThat(store.exists("runs/r1/metrics.json")).isTrue();
        assertThat(store.exists("runs/r1/other.json")).isFalse();
        assertThat(store.exists("runs/r1")).isFalse(); // a "folder" is not an object
        assertThat(store.exists("runs/r1/metrics.js")).isFalse();

        // a store on another prefix of the same bucket does not see it
        assertThat(open("s3://" + BUCKET + "/another").exists("runs/r1/metrics.json")).isFalse();
    }

    @Test
    void deletePrefixRemovesEverythingUnderThePrefixAndNothingElse() throws IOException {
        Path f = write(tmp.resolve("f"), "x");
        for (String key : List.of("runs/r1/a.txt", "runs/r1/b/c.txt", "runs/r1/b/d/e.txt", "runs/r10/keep.txt",
                "runs/r1.json", "runs/r2/r1/keep.txt", "keep.txt")) {
            store.putFile(key, f);
        }
        rawPut("outside/runs/r1/a.txt", "x");
        rawPut("runs/r1/a.txt", "x"); // the same key at the bucket's top, outside the store's root

        store.deletePrefix("runs/r1");

        assertThat(store.list("runs/r1")).isEmpty();
        assertThat(store.exists("runs/r1/a.txt")).isFalse();
        assertThat(rawKeys()).containsExactlyInAnyOrder(
                "prefix/runs/r10/keep.txt", "prefix/runs/r1.json", "prefix/runs/r2/r1/keep.txt", "prefix/keep.txt",
                "outside/runs/r1/a.txt", "runs/r1/a.txt");

        store.deletePrefix("runs/nothing"); // nothing there: not an error
        assertThat(rawKeys()).hasSize(6);
    }

    @Test
    void uriAndKeyOfRoundTrip() throws IOException {
        assertThat(store.root()).isEqualTo("s3://" + BUCKET + "/prefix");
        String uri = store.uri("runs/r1/model/weights.safetensors");
        assertThat(uri).isEqualTo("s3://" + BUCKET + "/prefix/runs/r1/model/weights.safetensors");
        assertThat(store.keyOf(uri)).contains("runs/r1/model/weights.safetensors");

        assertThat(store.keyOf("s3://" + BUCKET + "/other/runs/r1")).isEmpty();
        assertThat(store.keyOf("s3://" + BUCKET + "/prefix-other/runs/r1")).isEmpty();
        assertThat(store.keyOf("s3://other-bucket/prefix/runs/r1")).isEmpty();
        assertThat(store.keyOf("file:///prefix/runs/r1")).isEmpty();

        // trailing slashes on the root do not change it; a root without prefix maps keys to object keys
        S3ArtifactStore slashed = open("s3://" + BUCKET + "/prefix/");
        S3ArtifactStore top = open("s3://" + BUCKET);
        assertThat(slashed.root()).isEqualTo(store.root());
        assertThat(top.root()).isEqualTo("s3://" + BUCKET);
        assertThat(top.uri("a/b")).isEqualTo("s3://" + BUCKET + "/a/b");
        assertThat(top.keyOf(uri)).contains("prefix/runs/r1/model/weights.safetensors");

        // what one store writes under a URI, another store on a different root reads back under that URI
        store.putString("runs/r1/note.txt", "hello");
        String noteUri = store.uri("runs/r1/note.txt");
        assertThat(top.getString(top.keyOf(noteUri).orElseThrow())).contains("hello");
        assertThat(top.list("prefix/runs")).containsExactly("prefix/runs/r1/note.txt");
    }

    @Test
    void putStringAndGetString() throws IOException {
        store.putString("runs/r1/status", "done ✓");

        assertThat(store.getString("runs/r1/status")).contains("done ✓");
        assertThat(store.getString("runs/r1/missing")).isEmpty();
    }

    /** LATEST's compare-and-set: written only over the text expected (or only where absent), else refused. */
    @Test
    void putStringIfWritesOnlyOverWhatWasExpected() throws IOException {
        assertThat(store.putStringIf("ck/LATEST", null, "w1/step-000010")).isTrue();
        assertThat(store.putStringIf("ck/LATEST", null, "w2/step-000005")).as("no longer absent").isFalse();
        assertThat(store.putStringIf("ck/LATEST", "w9/step-000001", "w2/step-000005")).as("stale").isFalse();
        assertThat(store.putStringIf("ck/LATEST", "w1/step-000010", "w2/step-000020")).isTrue();
        assertThat(store.getString("ck/LATEST")).contains("w2/step-000020");
        assertThat(store.putStringIf("ck/other", "anything", "x")).as("expected but absent").isFalse();
    }

    @Test
    void objectWhoseBytesNoLongerMatchItsSha256IsRejectedWithoutLeavingAFile() throws IOException {
        Path src = write(tmp.resolve("scores.csv"), "id,score\n1,0.9\n2,0.1\n");
        store.putFile("runs/r1/scores.csv", src);
        String recorded = raw.headObject(b -> b.bucket(BUCKET).key("prefix/runs/r1/scores.csv")).metadata()
                .get("sha256");

        // the bytes change behind the store's back but the object still declares the original sha256
        raw.putObject(b -> b.bucket(BUCKET).key("prefix/runs/r1/scores.csv").metadata(Map.of("sha256", recorded)),
                RequestBody.fromString("id,score\n1,0.9\n2,0.7\n"));

        Path target = tmp.resolve("out/scores.csv");
        assertThatThrownBy(() -> store.getFile("runs/r1/scores.csv", target))
                .isInstanceOf(CorruptArtifactException.class)
                .hasMessageContaining(store.uri("runs/r1/scores.csv"))
                .hasMessageContaining(recorded);
        assertThat(target).doesNotExist();
        assertThat(siblingsNamed(target)).isEmpty(); // no .part left behind either

        // a target that already existed keeps its previous content
        Path existing = write(tmp.resolve("out/existing.csv"), "previous");
        assertThatThrownBy(() -> store.getFile("runs/r1/scores.csv", existing))
                .isInstanceOf(CorruptArtifactException.class);
        assertThat(existing).hasContent("previous");
        assertThat(siblingsNamed(existing)).containsExactly("existing.csv");
    }

    @Test
    void objectWhoseStoredBytesRotIsRejected() throws IOException {
        Path src = write(tmp.resolve("eval.jsonl"), "{\"id\": 1, \"score\": 4}\n{\"id\": 2, \"score\": 2}\n");
        store.putFile("runs/r1/eval.jsonl", src);

        // flip bytes in the server's own copy: same length, same metadata, same stored checksums
        Path onDisk = blobs.resolve(BUCKET).resolve("prefix/runs/r1/eval.jsonl");
        assertThat(onDisk).hasSameBinaryContentAs(src);
        byte[] bytes = Files.readAllBytes(onDisk);
        bytes[9] = (byte) '9';
        try (FileChannel ch = FileChannel.open(onDisk, StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.wrap(bytes));
        }

        Path target = tmp.resolve("eval.jsonl.copy");
        assertThatThrownBy(() -> store.getFile("runs/r1/eval.jsonl", target))
                .isInstanceOf(CorruptArtifactException.class);
        assertThat(target).doesNotExist();
        assertThat(siblingsNamed(target)).isEmpty();
    }

    @Test
    void objectPutWithAWrongSha256IsRejected() throws IOException {
        raw.putObject(b -> b.bucket(BUCKET).key("prefix/runs/r1/model.bin")
                .metadata(Map.of("sha256", "0".repeat(64))), RequestBody.fromString("model bytes"));

        Path target = tmp.resolve("model.bin");
        assertThatThrownBy(() -> store.getFile("runs/r1/model.bin", target))
                .isInstanceOf(CorruptArtifactException.class);
        assertThat(target).doesNotExist();
        assertThat(siblingsNamed(target)).isEmpty();
    }

    @Test
    void missingKeyIsFileNotFound() throws IOException {
        Path target = tmp.resolve("out/missing.txt");

        assertThatThrownBy(() -> store.getFile("runs/r1/missing.txt", target))
                .isInstanceOf(FileNotFoundException.class)
                .hasMessageContaining(store.uri("runs/r1/missing.txt"));
        assertThat(target).doesNotExist();
        assertThat(siblingsNamed(target)).isEmpty();
    }
}
