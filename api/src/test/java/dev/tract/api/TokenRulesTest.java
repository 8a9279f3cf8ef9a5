package dev.tract.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.tract.api.ApiToken.Scope;
import io.dropwizard.configuration.YamlConfigurationFactory;
import io.dropwizard.jackson.Jackson;
import io.dropwizard.jersey.validation.Validators;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The API refuses to start with no token, a blank, short, nameless or scopeless one; scopes read as written. */
class TokenRulesTest {
    static ApiToken t(String spec) {
        return ApiToken.parse(spec);
    }

    @Test
    void blankShortNamelessOrScopelessTokensStopTheServerNamingWhichOne() {
        assertThatThrownBy(() -> TractApiApplication.checkTokens(List.of())).hasMessageContaining("no API tokens");
        assertThatThrownBy(() -> TractApiApplication.checkTokens(List.of(t("ci:read:0123456789abcdef0123"),
                t("ops:admin: ")))).hasMessageContaining("API token 2 of 2 ('ops') is blank");
        assertThatThrownBy(() -> TractApiApplication.checkTokens(List.of(t("ci:read:change-me"))))
                .hasMessageContaining("API token 1 of 1 ('ci') is shorter than 16 characters")
                .hasMessageNotContaining("change-me");
        assertThatThrownBy(() -> TractApiApplication.checkTokens(List.of(ApiToken.of(null, "3f9c0a7b12d44e8a9b6c",
                List.of("read"))))).hasMessageContaining("needs a name");
        assertThatThrownBy(() -> TractApiApplication.checkTokens(List.of(ApiToken.of("ci", "3f9c0a7b12d44e8a9b6c",
                List.of())))).hasMessageContaining("has no scopes");
        assertThatThrownBy(() -> TractApiApplication.checkTokens(List.of(t("a:read:3f9c0a7b12d44e8a9b6c"),
                t("b:admin:3f9c0a7b12d44e8a9b6c")))).hasMessageContaining("same secret")
                .hasMessageNotContaining("3f9c0a7b");
        assertThatThrownBy(() -> ApiToken.parse("3f9c0a7b12d44e8a9b6c")).hasMessageContaining("name:scopes:secret")
                .hasMessageNotContaining("3f9c0a7b");
        assertThatThrownBy(() -> ApiToken.parse("ci:root:3f9c0a7b12d44e8a9b6c")).hasMessageContaining("unknown scope "
                + "'root'");
        assertThatCode(() -> TractApiApplication.checkTokens(List.of(t("ci:read+submit:3f9c0a7b12d44e8a9b6c"))))
                .doesNotThrowAnyException();
    }

    @Test
    void scopesAndNamesReadFromTheYamlConfigurationInBothForms() throws Exception {
        var factory = new YamlConfigurationFactory<>(TractApiConfiguration.class, Validators.newValidator(),
                Jackson.newObjectMapper(), "dw");
        TractApiConfiguration c = factory.build(new io.dropwizard.configuration.ResourceConfigurationSourceProvider() {
            @Override
            public java.io.InputStream open(String path) {
                return new java.io.ByteArrayInputStream("""
                        tokens:
                          - {name: alice, token: "a1b2c3d4e5f6a7b8c9d0", scopes: [read, submit]}
                          - "ops:admin:f0e9d8c7b6a5f4e3d2c1"
                        """.getBytes(java.nio.charset.StandardCharsets.UTF_8));
            }
        }, "tract.yml");
        assertThat(c.getTokens()).extracting(ApiToken::name).containsExactly("alice", "ops");
        assertThat(c.getTokens().get(0).scopes()).isEqualTo(Set.of(Scope.READ, Scope.SUBMIT));
        assertThat(c.getTokens().get(0).has(Scope.CANCEL)).isFalse();
        assertThat(c.getTokens().get(1).has(Scope.CANCEL)).as("admin holds every scope").isTrue();
        assertThat(c.getTokens().get(1).toString()).doesNotContain("f0e9d8c7");
    }
}
