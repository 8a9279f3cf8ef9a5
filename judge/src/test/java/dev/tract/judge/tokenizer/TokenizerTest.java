package dev.tract.judge.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.tract.judge.JudgeInputException;
import dev.tract.judge.TestModels;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TokenizerTest {
    @TempDir
    Path tmp;

    @Test
    void presetTokenizerRoundTripsAnyTextAndSplitsDigits() {
        try (JudgeTokenizer tok = JudgeTokenizer.load(TestModels.tiny())) {
            String text = "Feedback: 3 of 5 items are right (émigré, naïve; 42%)\n\tSo the overall score is 4";
            long[] ids = tok.encode(text, false);
            assertThat(tok.decode(ids, true)).isEqualTo(text);
            assertThat(tok.tokens("12345")).containsExactly("1", "2", "3", "4", "5");
            long[] withBos = tok.encode("hi", true);
            assertThat(withBos[0]).isEqualTo(tok.singleTokenId("<s>"));
            assertThat(tok.encode("The response is correct", false).length)
                    .as("merges learned from the corpus shorten common words").isLessThan(10);
        }
    }

    @Test
    void scoreTokensAreFoundFromTheTokenizer() {
        try (JudgeTokenizer tok = JudgeTokenizer.load(TestModels.tiny())) {
            ScoreTokens s = ScoreTokens.detect(tok);
            assertThat(s.spaceInPrefix()).isTrue();
            for (int k = 1; k <= 5; k++) {
                long[] full = tok.encode("So the overall score is " + k, false);
                assertThat(full[full.length - 1]).isEqualTo(s.idOf(k));
                assertThat(s.scoreOf(s.idOf(k))).isEqualTo(k);
            }
        }
    }

    @Test
    void tokenizerWithoutSingleTokenDigitsIsRejectedByName() throws Exception {
        Path file = tmp.resolve("tokenizer.json");
        Files.writeString(file, """
                {"version":"1.0","added_tokens":[],"normalizer":null,
                 "pre_tokenizer":{"type":"Whitespace"},"post_processor":null,"decoder":null,
                 "model":{"type":"WordLevel","unk_token":"[UNK]",
                   "vocab":{"[UNK]":0,"So":1,"the":2,"overall":3,"score":4,"is":5,"12":6}}}
                """);
        try (JudgeTokenizer tok = JudgeTokenizer.load(file)) {
            assertThatThrownBy(() -> ScoreTokens.detect(tok)).isInstanceOf(JudgeInputException.class)
                    .hasMessageContaining(file.toString()).hasMessageContaining("score tokens")
                    .hasMessageContaining("single-token digits");
        }
    }

    @Test
    void missingTokenizerIsNamed() {
        assertThatThrownBy(() -> JudgeTokenizer.load(tmp)).isInstanceOf(JudgeInputException.class)
                .hasMessageContaining(tmp.resolve("tokenizer.json").toString());
    }

    @Test
    void trainingIsDeterministic() throws Exception {
        String corpus = "the cat sat on the mat. the cat ate.";
        ByteLevelBpe a = ByteLevelBpe.train(corpus, 280);
        ByteLevelBpe b = ByteLevelBpe.train(corpus, 280);
        ByteLevelBpe other = ByteLevelBpe.train(corpus + " a dog ran far, far away from the cats.", 280);
        assertThat(a.vocabSize()).isGreaterThan(259);
        a.write(tmp.resolve("a"), 512);
        b.write(tmp.resolve("b"), 512);
        other.write(tmp.resolve("other"), 512);
        // the same vocabulary and merges, in the same order: the files are identical byte for byte
        String first = java.nio.file.Files.readString(tmp.resolve("a/tokenizer.json"));
        assertThat(java.nio.file.Files.readString(tmp.resolve("b/tokenizer.json"))).isEqualTo(first);
        assertThat(java.nio.file.Files.readString(tmp.resolve("other/tokenizer.json"))).as("another corpus")
                .isNotEqualTo(first);
    }

    @Test
    void mistralChatTemplateRenders() throws Exception {
        String template = "{{ bos_token }}{% for message in messages %}{% if (message['role'] == 'user') != "
                + "(loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate "
                + "user/assistant/user/assistant/...') }}{% endif %}{% if message['role'] == 'user' %}"
                + "{{ '[INST] ' + message['content'] + ' [/INST]' }}{% elif message['role'] == 'assistant' %}"
                + "{{ message['content'] + eos_token}}{% else %}{{ raise_exception('Only user and assistant roles "
                + "are supported!') }}{% endif %}{% endfor %}";
        ChatTemplate t = new ChatTemplate(template, "<s>", "</s>");
        assertThat(t.render(List.of(new ChatTemplate.Message("user", "Grade this.")), true))
                .isEqualTo("<s>[INST] Grade this. [/INST]");
        assertThat(t.render(List.of(new ChatTemplate.Message("user", "a"), new ChatTemplate.Message("assistant",
                "b")), false)).isEqualTo("<s>[INST] a [/INST]b</s>");
        assertThatThrownBy(() -> t.render(List.of(new ChatTemplate.Message("assistant", "x")), true))
                .isInstanceOf(JudgeInputException.class).hasMessageContaining("roles must alternate");
    }

    @Test
    void chatMlTemplateFromTokenizerConfigRenders() throws Exception {
        Path dir = tmp.resolve("m");
        Files.createDirectories(dir);
        Files.copy(TestModels.tiny().resolve("tokenizer.json"), dir.resolve("tokenizer.json"));
        Files.writeString(dir.resolve("tokenizer_config.json"), """
                {"eos_token": {"content": "</s>"}, "bos_token": "<s>",
                 "chat_template": "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"}
                """);
        try (JudgeTokenizer tok = JudgeTokenizer.load(dir)) {
            assertThat(tok.eosToken()).isEqualTo("</s>");
            assertThat(tok.chatTemplate().render(List.of(new ChatTemplate.Message("system", "Be fair."),
                    new ChatTemplate.Message("user", "Grade.")), true))
                    .isEqualTo("<|im_start|>system\nBe fair.<|im_end|>\n<|im_start|>user\nGrade.<|im_end|>\n"
                            + "<|im_start|>assistant\n");
        }
    }
}
