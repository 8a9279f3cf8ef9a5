package dev.tract.api;

import com.fasterxml.jackson.annotation.JsonProperty;
import io.dropwizard.core.Configuration;
import jakarta.validation.constraints.Max;
import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.NotEmpty;
import jakarta.validation.constraints.NotNull;
import dev.tract.workflows.spec.Destinations;
import java.util.ArrayList;
import java.util.List;

/** The API server's configuration (Dropwizard YAML), validated at start-up. */
public class TractApiConfiguration extends Configuration {
    @NotEmpty
    private String temporalAddress = "localhost:7233";

    @NotEmpty
    private String namespace = "default";

    /**
     * Bearer tokens accepted on /api routes, each {name, token, scopes} (or "name:scopes:secret");
     * TRACT_API_TOKENS (comma-separated name:scopes:secret) adds more.
     */
    @NotNull
    private List<ApiToken> tokens = new ArrayList<>();

    /** Folders and s3:// prefixes specs may read data and seed models from; empty: specBaseDir only. */
    @NotNull
    private List<String> dataRoots = new ArrayList<>();

    /** Folders and s3:// prefixes specs may store artifacts under; defaultArtifactRoot always is one. */
    @NotNull
    private List<String> artifactRoots = new ArrayList<>();

    /** MLflow servers specs may name; the server's own $MLFLOW_TRACKING_URI always is one. */
    @NotNull
    private List<String> trackingUris = new ArrayList<>();

    /** Largest accepted spec body, in bytes. */
    @Min(256)
    @Max(64L << 20)
    private long maxSpecBytes = 1L << 20;

    /** Artifact root of specs that name none. */
    @NotEmpty
    private String defaultArtifactRoot = "file:./tract-runs";

    /** Relative paths in submitted specs are resolved against this folder of the server. */
    @NotEmpty
    private String specBaseDir = ".";

    @JsonProperty
    public String getTemporalAddress() {
        return temporalAddress;
    }

    @JsonProperty
    public void setTemporalAddress(String temporalAddress) {
        this.temporalAddress = temporalAddress;
    }

    @JsonProperty
    public String getNamespace() {
        return namespace;
    }

    @JsonProperty
    public void setNamespace(String namespace) {
        this.namespace = namespace;
    }

    @JsonProperty
    public List<ApiToken> getTokens() {
        return tokens;
    }

    @JsonProperty
    public void setTokens(List<ApiToken> tokens) {
        this.tokens = tokens;
    }

    @JsonProperty
    public List<String> getDataRoots() {
        return dataRoots;
    }

    @JsonProperty
    public void setDataRoots(List<String> dataRoots) {
        this.dataRoots = dataRoots;
    }

    @JsonProperty
    public List<String> getArtifactRoots() {
        return artifactRoots;
    }

    @JsonProperty
    public void setArtifactRoots(List<String> artifactRoots) {
        this.artifactRoots = artifactRoots;
    }

    @JsonProperty
    public List<String> getTrackingUris() {
        return trackingUris;
    }

    @JsonProperty
    public void setTrackingUris(List<String> trackingUris) {
        this.trackingUris = trackingUris;
    }

    /**
     * Where submitted specs may point: the configured roots plus those of TRACT_DATA_ROOTS, TRACT_ARTIFACT_ROOTS
     * and TRACT_TRACKING_URIS; data under specBaseDir when no data root is set; the default artifact root; and the
     * server's own $MLFLOW_TRACKING_URI.
     */
    public Destinations destinations(java.util.Map<String, String> env) {
        List<String> data = new ArrayList<>(dataRoots);
        data.addAll(Destinations.list(env.get(Destinations.DATA_ROOTS)));
        if (data.isEmpty()) {
            data.add(java.nio.file.Path.of(specBaseDir).toAbsolutePath().normalize().toString());
        }
        List<String> artifacts = new ArrayList<>(artifactRoots);
        artifacts.addAll(Destinations.list(env.get(Destinations.ARTIFACT_ROOTS)));
        artifacts.add(TractApiApplication.resolve(defaultArtifactRoot));
        List<String> tracking = new ArrayList<>(trackingUris);
        tracking.addAll(Destinations.list(env.get(Destinations.TRACKING_URIS)));
        String own = env.get("MLFLOW_TRACKING_URI");
        if (own != null && own.startsWith("http")) {
            tracking.add(own);
        }
        return Destinations.of(data, artifacts, tracking);
    }

    @JsonProperty
    public long getMaxSpecBytes() {
        return maxSpecBytes;
    }

    @JsonProperty
    public void setMaxSpecBytes(long maxSpecBytes) {
        this.maxSpecBytes = maxSpecBytes;
    }

    @JsonProperty
    public String getDefaultArtifactRoot() {
        return defaultArtifactRoot;
    }

    @JsonProperty
    public void setDefaultArtifactRoot(String defaultArtifactRoot) {
        this.defaultArtifactRoot = defaultArtifactRoot;
    }

    @JsonProperty
    public String getSpecBaseDir() {
        return specBaseDir;
    }

    @JsonProperty
    public void setSpecBaseDir(String specBaseDir) {
        this.specBaseDir = specBaseDir;
    }

    /** Configured tokens plus those of TRACT_API_TOKENS. */
    public List<ApiToken> allTokens() {
        List<ApiToken> all = new ArrayList<>(tokens);
        String env = System.getenv("TRACT_API_TOKENS");
        if (env != null) {
            for (String t : env.split(",")) {
                if (!t.isBlank()) {
                    all.add(ApiToken.parse(t));
                }
            }
        }
        return all;
    }
}
