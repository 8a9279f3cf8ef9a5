package dev.tract.api;

import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;

/** The API refuses to start with no token, a blank one or a guessable short one. */
class TokenRulesTest {
    @Test
    void blankOrShortTokensStopTheServerNamingWhichOne() {
        assertThatThrownBy(() -> TractApiApplication.checkTokens(List.of())).hasMessageContaining("no API tokens");
        assertThatThrownBy(() -> TractApiApplication.checkTokens(List.of("0123456789abcdef0123", " ")))
                .hasMessageContaining("API token 2 of 2 is blank");
        assertThatThrownBy(() -> TractApiApplication.checkTokens(List.of("change-me")))
                .hasMessageContaining("API token 1 of 1 is shorter than 16 characters")
                .hasMessageNotContaining("change-me");
        assertThatCode(() -> TractApiApplication.checkTokens(List.of("3f9c0a7b12d44e8a9b6c")))
                .doesNotThrowAnyException();
    }
}
