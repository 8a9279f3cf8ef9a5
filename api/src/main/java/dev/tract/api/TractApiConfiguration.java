package dev.tract.api;

import com.fasterxml.jackson.annotation.JsonProperty;
import io.dropwizard.core.Configuration;
import jakarta.validation.constraints.Max;
import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.NotEmpty;
import jakarta.validation.constraints.NotNull;
import java.util.ArrayList;
import java.util.List;

/** The API server's configuration (Dropwizard YAML), validated at start-up. */
public class TractApiConfiguration extends Configuration {
    @NotEmpty
    private String temporalAddress = "localhost:7233";

    @NotEmpty
    private String namespace = "default";

    /** Bearer tokens accepted on /api routes; TRACT_API_TOKENS (comma-separated) adds more. */
    @NotNull
    private List<String> tokens = new ArrayList<>();

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
    public List<String> getTokens() {
        return tokens;
    }

    @JsonProperty
    public void setTokens(List<String> tokens) {
        this.tokens = tokens;
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
    public List<String> allTokens() {
        List<String> all = new ArrayList<>(tokens);
        String env = System.getenv("TRACT_API_TOKENS");
        if (env != null) {
            for (String t : env.split(",")) {
                if (!t.isBlank()) {
                    all.add(t.strip());
                }
            }
        }
        return all;
    }
}
