package dev.tract.activities.artifacts;

import java.net.URI;
import java.nio.file.Path;
import org.gaul.s3proxy.S3Proxy;
import org.gaul.s3proxy.auth.AuthenticationType;
import org.gaul.s3proxy.nio2blob.FilesystemNio2BlobStore;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;

/** s3proxy in-process on a free port with a filesystem back end: the real S3 protocol for tests. */
public final class S3ProxyFixture implements AutoCloseable {
    private static final String IDENTITY = "tract-test-access-key";
    private static final String CREDENTIAL = "tract-test-secret-key";
    private final Path dir;
    private S3Proxy proxy;
    private final URI endpoint;
    private final S3Client raw;

    public S3ProxyFixture(Path dir, String... buckets) throws Exception {
        java.nio.file.Files.createDirectories(dir);
        this.dir = dir;
        proxy = start(0);
        endpoint = URI.create("http://127.0.0.1:" + proxy.getPort());
        raw = S3Client.builder().region(Region.US_EAST_1).endpointOverride(endpoint).forcePathStyle(true)
                .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create(IDENTITY,
                        CREDENTIAL))).build();
        for (String b : buckets) {
            raw.createBucket(r -> r.bucket(b));
        }
    }

    private S3Proxy start(int port) throws Exception {
        S3Proxy p = S3Proxy.builder().blobStore(new FilesystemNio2BlobStore(dir.toString()))
                .endpoint(URI.create("http://127.0.0.1:" + port))
                .awsAuthentication(AuthenticationType.AWS_V2_OR_V4, IDENTITY, CREDENTIAL)
                .ignoreUnknownHeaders(true).build();
        p.start();
        for (int i = 0; i < 500 && !"STARTED".equals(p.getState()); i++) {
            Thread.sleep(10);
        }
        return p;
    }

    /** The S3 endpoint goes away (connections refused) until {@link #comeBack()}. */
    public synchronized void goAway() throws Exception {
        proxy.stop();
    }

    /** The endpoint returns on the same port with the same objects. */
    public synchronized void comeBack() throws Exception {
        proxy = start(endpoint.getPort());
    }

    public URI endpoint() {
        return endpoint;
    }

    public static String identity() {
        return IDENTITY;
    }

    public static String credential() {
        return CREDENTIAL;
    }

    public S3ArtifactStore.Settings settings() {
        return new S3ArtifactStore.Settings("us-east-1", endpoint, true,
                StaticCredentialsProvider.create(AwsBasicCredentials.create(IDENTITY, CREDENTIAL)));
    }

    /** A plain client, to look behind a store's back. */
    public S3Client raw() {
        return raw;
    }

    @Override
    public void close() throws Exception {
        try {
            raw.close();
        } finally {
            proxy.stop();
        }
    }
}
