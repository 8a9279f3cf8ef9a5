package dev.tract.activities.artifacts;

import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import java.util.Optional;
import software.amazon.awssdk.auth.credentials.AwsCredentialsProvider;
import software.amazon.awssdk.auth.credentials.DefaultCredentialsProvider;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.core.sync.ResponseTransformer;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3AsyncClient;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.Delete;
import software.amazon.awssdk.services.s3.model.GetObjectResponse;
import software.amazon.awssdk.services.s3.model.NoSuchKeyException;
import software.amazon.awssdk.services.s3.model.ObjectIdentifier;
import software.amazon.awssdk.services.s3.model.S3Exception;
import software.amazon.awssdk.services.s3.model.S3Object;
import software.amazon.awssdk.transfer.s3.S3TransferManager;
import software.amazon.awssdk.transfer.s3.model.UploadFileRequest;

/**
 * Artifacts in S3 or an S3-compatible store (MinIO, s3proxy...): uploads go through the transfer manager
 * (multipart above 16 MiB), downloads through a plain client. The sha256 of each object is kept in its
 * {@code x-amz-meta-sha256} metadata and verified on download.
 */
public final class S3ArtifactStore implements ArtifactStore {
    private static final Logger LOG = LoggerFactory.getLogger(S3ArtifactStore.class);
    static final long MULTIPART_THRESHOLD = 16L << 20;
    private final String bucket;
    private final String prefix;
    private final S3Client s3;
    private final S3AsyncClient async;
    private final S3TransferManager transfers;

    /** Connection settings; {@link #fromEnv()} reads them as the AWS tools do, plus an endpoint override. */
    public record Settings(String region, URI endpoint, boolean pathStyle, AwsCredentialsProvider credentials) {
        /**
         * AWS_REGION (default us-east-1); TRACT_S3_ENDPOINT or AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL for an
         * S3-compatible store; TRACT_S3_PATH_STYLE (default true when an endpoint is set); credentials from the
         * default AWS chain (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, profiles, instance roles). The system
         * properties tract.s3.endpoint, tract.s3.pathStyle, aws.region, aws.accessKeyId and aws.secretAccessKey
         * serve where the environment cannot be set (embedded use, tests).
         */
        public static Settings fromEnv() {
            Map<String, String> env = System.getenv();
            String endpoint = firstNonBlank(env.get("TRACT_S3_ENDPOINT"), env.get("AWS_ENDPOINT_URL_S3"),
                    env.get("AWS_ENDPOINT_URL"), System.getProperty("tract.s3.endpoint"));
            String pathStyle = firstNonBlank(env.get("TRACT_S3_PATH_STYLE"), System.getProperty("tract.s3.pathStyle"));
            return new Settings(firstNonBlank(env.get("AWS_REGION"), env.get("AWS_DEFAULT_REGION"),
                    System.getProperty("aws.region"), "us-east-1"),
                    endpoint == null ? null : URI.create(endpoint),
                    pathStyle != null ? Boolean.parseBoolean(pathStyle) : endpoint != null,
                    DefaultCredentialsProvider.builder().build());
        }

        private static String firstNonBlank(String... values) {
            for (String v : values) {
                if (v != null && !v.isBlank()) {
                    return v;
                }
            }
            return null;
        }
    }

    public S3ArtifactStore(URI root, Settings settings) {
        this.bucket = root.getHost();
        String p = root.getPath() == null ? "" : root.getPath();
        while (p.startsWith("/")) {
            p = p.substring(1);
        }
        while (p.endsWith("/")) {
            p = p.substring(0, p.length() - 1);
        }
        this.prefix = p;
        var sync = S3Client.builder().region(Region.of(settings.region())).credentialsProvider(settings.credentials())
                .forcePathStyle(settings.pathStyle());
        var asyncBuilder = S3AsyncClient.builder().region(Region.of(settings.region()))
                .credentialsProvider(settings.credentials()).forcePathStyle(settings.pathStyle())
                .multipartEnabled(true).multipartConfiguration(c -> c.thresholdInBytes(MULTIPART_THRESHOLD)
                        .minimumPartSizeInBytes(8L << 20));
        if (settings.endpoint() != null) {
            sync.endpointOverride(settings.endpoint());
            asyncBuilder.endpointOverride(settings.endpoint());
        }
        this.s3 = sync.build();
        this.async = asyncBuilder.build();
        this.transfers = S3TransferManager.builder().s3Client(async).build();
    }

    @Override
    public String root() {
        return "s3://" + bucket + (prefix.isEmpty() ? "" : "/" + prefix);
    }

    private String objectKey(String key) {
        return prefix.isEmpty() ? Keys.check(key) : prefix + "/" + Keys.check(key);
    }

    @Override
    public void putFile(String key, Path file) throws IOException {
        String sha = Digests.sha256(file);
        try {
            transfers.uploadFile(UploadFileRequest.builder()
                    .putObjectRequest(b -> b.bucket(bucket).key(objectKey(key)).metadata(Map.of("sha256", sha)))
                    .source(file).build()).completionFuture().join();
        } catch (RuntimeException e) {
            throw new IOException("upload of " + uri(key) + " failed: " + rootMessage(e), e);
        }
    }

    /**
     * Compare-and-set with S3's conditional writes: {@code If-Match} on the ETag of the text expected, or
     * {@code If-None-Match: *} when it should be absent. A store that does not implement them falls back to reading
     * and comparing (not atomic), with a warning once.
     */
    @Override
    public boolean putStringIf(String key, String expected, String text) throws IOException {
        if (!conditionalWrites) {
            return ArtifactStore.super.putStringIf(key, expected, text);
        }
        String etag = null;
        if (expected != null) {
            try {
                var head = s3.headObject(b -> b.bucket(bucket).key(objectKey(key)));
                etag = head.eTag();
            } catch (NoSuchKeyException e) {
                return false;
            } catch (software.amazon.awssdk.services.s3.model.S3Exception e) {
                if (e.statusCode() == 404) {
                    return false;
                }
                throw new IOException("read of " + uri(key) + " failed: " + rootMessage(e), e);
            }
            Optional<String> current = getString(key);
            if (!current.map(expected::equals).orElse(false)) {
                return false;
            }
        }
        byte[] bytes = text.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        String sha = java.util.HexFormat.of().formatHex(Digests.sha().digest(bytes));
        String match = etag;
        try {
            s3.putObject(b -> {
                b.bucket(bucket).key(objectKey(key)).metadata(Map.of("sha256", sha));
                if (match != null) {
                    b.ifMatch(match);
                } else {
                    b.ifNoneMatch("*");
                }
            }, software.amazon.awssdk.core.sync.RequestBody.fromBytes(bytes));
            return true;
        } catch (software.amazon.awssdk.services.s3.model.S3Exception e) {
            if (e.statusCode() == 412 || e.statusCode() == 409) {
                return false; // another writer changed it first
            }
            if (e.statusCode() == 501 || e.statusCode() == 400) {
                LOG.warn("{} does not support conditional writes ({}); LATEST is compared and written without them",
                        root(), rootMessage(e));
                conditionalWrites = false;
                return ArtifactStore.super.putStringIf(key, expected, text);
            }
            throw new IOException("conditional write of " + uri(key) + " failed: " + rootMessage(e), e);
        }
    }

    private volatile boolean conditionalWrites = true;

    @Override
    public void getFile(String key, Path target) throws IOException {
        Files.createDirectories(target.toAbsolutePath().getParent());
        Path tmp = Digests.aside(target);
        Files.deleteIfExists(tmp);
        GetObjectResponse r;
        try {
            r = s3.getObject(b -> b.bucket(bucket).key(objectKey(key)), ResponseTransformer.toFile(tmp));
        } catch (NoSuchKeyException e) {
            throw new java.io.FileNotFoundException(uri(key));
        } catch (SdkException e) {
            Files.deleteIfExists(tmp);
            throw new IOException("download of " + uri(key) + " failed: " + rootMessage(e), e);
        }
        Digests.verifyAndMove(tmp, target, r.metadata().get("sha256"), uri(key));
    }

    @Override
    public boolean exists(String key) throws IOException {
        try {
            s3.headObject(b -> b.bucket(bucket).key(objectKey(key)));
            return true;
        } catch (NoSuchKeyException e) {
            return false;
        } catch (S3Exception e) {
            if (e.statusCode() == 404) {
                return false;
            }
            throw new IOException("cannot reach " + uri(key) + ": " + rootMessage(e), e);
        } catch (SdkException e) {
            throw new IOException("cannot reach " + uri(key) + ": " + rootMessage(e), e);
        }
    }

    @Override
    public List<String> list(String keyPrefix) throws IOException {
        String p = objectKey(keyPrefix) + "/";
        List<String> out = new ArrayList<>();
        try {
            for (S3Object o : s3.listObjectsV2Paginator(b -> b.bucket(bucket).prefix(p)).contents()) {
                out.add(prefix.isEmpty() ? o.key() : o.key().substring(prefix.length() + 1));
            }
        } catch (SdkException e) {
            throw new IOException("cannot list " + uri(keyPrefix) + ": " + rootMessage(e), e);
        }
        out.sort(null);
        return out;
    }

    @Override
    public void deletePrefix(String keyPrefix) throws IOException {
        List<String> keys = list(keyPrefix);
        for (int i = 0; i < keys.size(); i += 1000) {
            List<ObjectIdentifier> batch = keys.subList(i, Math.min(keys.size(), i + 1000)).stream()
                    .map(k -> ObjectIdentifier.builder().key(objectKey(k)).build()).toList();
            try {
                var response = s3.deleteObjects(b -> b.bucket(bucket).delete(Delete.builder().objects(batch)
                        .build()));
                if (response.hasErrors() && !response.errors().isEmpty()) {
                    var first = response.errors().get(0);
                    throw new IOException("cannot delete " + response.errors().size() + " object(s) under "
                            + uri(keyPrefix) + ", e.g. " + first.key() + ": " + first.code() + " " + first.message());
                }
            } catch (SdkException e) {
                throw new IOException("cannot delete under " + uri(keyPrefix) + ": " + rootMessage(e), e);
            }
        }
    }

    private static String rootMessage(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null && t.getCause() != t) {
            t = t.getCause();
        }
        return t.getMessage();
    }

    @Override
    public void close() {
        transfers.close();
        async.close();
        s3.close();
    }
}
