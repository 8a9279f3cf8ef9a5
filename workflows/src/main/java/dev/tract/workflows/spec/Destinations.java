package dev.tract.workflows.spec;

import java.io.IOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Where pipelines may read data, write artifacts and send tracking calls: set by the operator on the API server and
 * the workers, never widened by a spec. A root is a local folder or an {@code s3://bucket[/prefix]}; a tracking URI
 * is an MLflow server's http(s) URL. {@code local} tracking (files beside the artifacts) is always allowed.
 *
 * <p>A local location is inside a root when its real path is: {@code ..} is resolved first, and a symbolic link, in
 * the file itself or in any folder above it, is followed before the comparison, so neither can lead out. Refusals
 * say only that a location is outside the roots, never whether it exists or what it holds. A URI that embeds
 * credentials ({@code user:password@host}) is refused everywhere: it would be copied into histories and logs.
 */
public final class Destinations {
    /** Environment variables a worker or the API server reads its destinations from (comma-separated lists). */
    public static final String DATA_ROOTS = "TRACT_DATA_ROOTS";
    public static final String ARTIFACT_ROOTS = "TRACT_ARTIFACT_ROOTS";
    public static final String TRACKING_URIS = "TRACT_TRACKING_URIS";

    private final List<Root> dataRoots;
    private final List<Root> artifactRoots;
    private final List<String> trackingUris;
    private final boolean restricted;

    private Destinations(List<Root> dataRoots, List<Root> artifactRoots, List<String> trackingUris,
                         boolean restricted) {
        this.dataRoots = dataRoots;
        this.artifactRoots = artifactRoots;
        this.trackingUris = trackingUris;
        this.restricted = restricted;
    }

    /** No restriction: for a command-line run of the user's own spec, where the user is the operator. */
    public static Destinations unrestricted() {
        return new Destinations(List.of(), List.of(), List.of(), false);
    }

    /**
     * @param dataRoots folders and s3:// prefixes data and seed models may be read from
     * @param artifactRoots folders and s3:// prefixes artifacts may be written under (and read back from)
     * @param trackingUris MLflow servers tracking calls may go to
     * @throws IllegalArgumentException naming a root that is not a folder path, a {@code file:} or an s3:// URI
     */
    public static Destinations of(List<String> dataRoots, List<String> artifactRoots, List<String> trackingUris) {
        List<String> tracking = new ArrayList<>();
        for (String t : trackingUris) {
            String n = normalizeTracking(t);
            if (n == null) {
                throw new IllegalArgumentException("allowed tracking URI '" + t + "' is not an http(s) URL without "
                        + "credentials");
            }
            tracking.add(n);
        }
        return new Destinations(roots(dataRoots, "data"), roots(artifactRoots, "artifact"), List.copyOf(tracking),
                true);
    }

    /**
     * The destinations an operator set in the environment ({@value #DATA_ROOTS}, {@value #ARTIFACT_ROOTS},
     * {@value #TRACKING_URIS}), or null when none of them is set. {@code $MLFLOW_TRACKING_URI}, the server the
     * process itself tracks to, is always an allowed tracking URI.
     */
    public static Destinations fromEnv(Map<String, String> env) {
        if (!env.containsKey(DATA_ROOTS) && !env.containsKey(ARTIFACT_ROOTS) && !env.containsKey(TRACKING_URIS)) {
            return null;
        }
        List<String> tracking = new ArrayList<>(list(env.get(TRACKING_URIS)));
        String own = env.get("MLFLOW_TRACKING_URI");
        if (own != null && own.startsWith("http")) {
            tracking.add(own);
        }
        return of(list(env.get(DATA_ROOTS)), list(env.get(ARTIFACT_ROOTS)), tracking);
    }

    /** A comma-separated list, blanks dropped. */
    public static List<String> list(String value) {
        List<String> out = new ArrayList<>();
        if (value != null) {
            for (String s : value.split(",")) {
                if (!s.isBlank()) {
                    out.add(s.strip());
                }
            }
        }
        return out;
    }

    public boolean restricted() {
        return restricted;
    }

    /** These destinations with one more artifact root (the server's default for specs that name none). */
    public Destinations withArtifactRoot(String root) {
        if (!restricted) {
            return this;
        }
        List<Root> a = new ArrayList<>(artifactRoots);
        a.add(Root.parse(root, "artifact"));
        return new Destinations(dataRoots, List.copyOf(a), trackingUris, true);
    }

    /** Null when data or a seed model may be read from {@code location}, else why not. */
    public String dataProblem(String location) {
        String c = credentials(location);
        if (c != null || !restricted) {
            return c;
        }
        // a pipeline reads back what it wrote (self-generated CoTs, its stage-1 judge), so artifact roots count too
        return inside(location, dataRoots) || inside(location, artifactRoots) ? null
                : "is outside the allowed data roots " + describe(dataRoots);
    }

    /** Null when artifacts may be written under {@code root}, else why not. */
    public String artifactProblem(String root) {
        String c = credentials(root);
        if (c != null || !restricted) {
            return c;
        }
        return inside(root, artifactRoots) ? null : "is outside the allowed artifact roots " + describe(artifactRoots);
    }

    /** Null when tracking calls may go to {@code uri} (null, empty and {@code local} always may), else why not. */
    public String trackingProblem(String uri) {
        if (uri == null || uri.isBlank() || uri.equals("local")) {
            return null;
        }
        String c = credentials(uri);
        if (c != null || !restricted) {
            return c;
        }
        String n = normalizeTracking(uri);
        return n != null && trackingUris.contains(n) ? null : "is not an allowed tracking server (allowed: "
                + (trackingUris.isEmpty() ? "local only" : String.join(", ", trackingUris) + " and local") + ")";
    }

    private static String credentials(String location) {
        if (location == null) {
            return null;
        }
        int scheme = location.indexOf("://");
        if (scheme < 0) {
            return null;
        }
        int end = location.indexOf('/', scheme + 3);
        String authority = location.substring(scheme + 3, end < 0 ? location.length() : end);
        return authority.contains("@") ? "must not embed credentials (user:password@); workers use their own" : null;
    }

    private static String describe(List<Root> roots) {
        return roots.isEmpty() ? "(none configured)" : roots.stream().map(Root::toString).toList().toString();
    }

    private static boolean inside(String location, List<Root> roots) {
        if (location == null || location.isBlank()) {
            return false;
        }
        if (location.startsWith("s3://")) {
            S3 s = S3.parse(location);
            return s != null && roots.stream().anyMatch(r -> r.s3() != null && r.s3().contains(s));
        }
        if (location.contains("://") && !location.startsWith("file:")) {
            return false;
        }
        Path real;
        try {
            real = realPath(location);
        } catch (IllegalArgumentException e) {
            return false;
        }
        return roots.stream().anyMatch(r -> r.dir() != null && real.startsWith(r.dir()));
    }

    /**
     * The real path of a local location: {@code ..} resolved, and symbolic links followed in the deepest part that
     * exists (the rest does not exist, so it cannot be a link).
     */
    static Path realPath(String location) {
        Path p;
        if (location.startsWith("file:")) {
            URI u = URI.create(location);
            if (u.getAuthority() != null && !u.getAuthority().isEmpty()) {
                throw new IllegalArgumentException("file: URI with a host");
            }
            p = Path.of(u);
        } else {
            p = Path.of(location);
        }
        p = p.toAbsolutePath().normalize();
        Path existing = p;
        while (existing != null && !Files.exists(existing, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            existing = existing.getParent();
        }
        if (existing == null) {
            return p;
        }
        try {
            return existing.toRealPath().resolve(existing.relativize(p)).normalize();
        } catch (IOException e) {
            // a dangling link or an unreadable folder: not provably inside
            throw new IllegalArgumentException(e);
        }
    }

    static String normalizeTracking(String uri) {
        try {
            URI u = new URI(uri.strip());
            String scheme = u.getScheme() == null ? "" : u.getScheme().toLowerCase(Locale.ROOT);
            if (!scheme.equals("http") && !scheme.equals("https") || u.getHost() == null || u.getRawUserInfo() != null) {
                return null;
            }
            int port = u.getPort() >= 0 ? u.getPort() : scheme.equals("https") ? 443 : 80;
            String path = u.getPath() == null ? "" : u.getPath();
            while (path.endsWith("/")) {
                path = path.substring(0, path.length() - 1);
            }
            return scheme + "://" + u.getHost().toLowerCase(Locale.ROOT) + ":" + port + path;
        } catch (URISyntaxException e) {
            return null;
        }
    }

    private static List<Root> roots(List<String> values, String kind) {
        return values.stream().map(v -> Root.parse(v, kind)).toList();
    }

    /** A local folder (its real path) or an S3 prefix. */
    private record Root(Path dir, S3 s3) {
        static Root parse(String value, String kind) {
            if (value.startsWith("s3://")) {
                S3 s = S3.parse(value);
                if (s == null) {
                    throw new IllegalArgumentException(kind + " root '" + value + "' is not s3://bucket[/prefix]");
                }
                return new Root(null, s);
            }
            if (value.contains("://") && !value.startsWith("file:")) {
                throw new IllegalArgumentException(kind + " root '" + value + "' must be a folder, a file: or an "
                        + "s3:// URI");
            }
            return new Root(realPath(value), null);
        }

        @Override
        public String toString() {
            return dir != null ? dir.toString() : s3.toString();
        }
    }

    /** A bucket and a key prefix of whole segments ("" for the whole bucket). */
    private record S3(String bucket, String prefix) {
        static S3 parse(String uri) {
            String rest = uri.substring("s3://".length());
            int slash = rest.indexOf('/');
            String bucket = slash < 0 ? rest : rest.substring(0, slash);
            String key = slash < 0 ? "" : rest.substring(slash + 1);
            if (bucket.isEmpty() || bucket.contains("@") || bucket.contains(":")) {
                return null;
            }
            List<String> segments = new ArrayList<>();
            for (String seg : key.split("/")) {
                if (seg.equals("..") || seg.equals(".")) {
                    return null;
                }
                if (!seg.isEmpty()) {
                    segments.add(seg);
                }
            }
            return new S3(bucket, String.join("/", segments));
        }

        boolean contains(S3 other) {
            return bucket.equals(other.bucket) && (prefix.isEmpty() || other.prefix.equals(prefix)
                    || other.prefix.startsWith(prefix + "/"));
        }

        @Override
        public String toString() {
            return "s3://" + bucket + (prefix.isEmpty() ? "" : "/" + prefix);
        }
    }
}
