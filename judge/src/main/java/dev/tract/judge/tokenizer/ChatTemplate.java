package dev.tract.judge.tokenizer;

import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.JinjavaConfig;
import com.hubspot.jinjava.interpret.RenderResult;
import com.hubspot.jinjava.lib.fn.ELFunctionDefinition;
import dev.tract.judge.JudgeInputException;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A model's chat template (the Jinja {@code chat_template} of tokenizer_config.json), rendered as transformers'
 * {@code apply_chat_template} does: trim_blocks and lstrip_blocks on, {@code messages}, {@code bos_token},
 * {@code eos_token}, {@code add_generation_prompt} and {@code raise_exception} in scope.
 */
public final class ChatTemplate {
    /** One chat message. */
    public record Message(String role, String content) {}

    private final String template;
    private final String bosToken;
    private final String eosToken;
    private final Jinjava jinjava;

    public ChatTemplate(String template, String bosToken, String eosToken) {
        this.template = template;
        this.bosToken = bosToken == null ? "" : bosToken;
        this.eosToken = eosToken == null ? "" : eosToken;
        this.jinjava = new Jinjava(JinjavaConfig.newBuilder().withTrimBlocks(true).withLstripBlocks(true)
                .withFailOnUnknownTokens(false).build());
        jinjava.getGlobalContext().registerFunction(new ELFunctionDefinition("", "raise_exception",
                ChatTemplate.class, "raiseException", String.class));
    }

    /** Called by templates that reject a conversation (e.g. roles that do not alternate). */
    public static String raiseException(String message) {
        throw new TemplateRejected(message);
    }

    private static final class TemplateRejected extends RuntimeException {
        TemplateRejected(String message) {
            super(message);
        }
    }

    public String render(List<Message> messages, boolean addGenerationPrompt) {
        Map<String, Object> ctx = new HashMap<>();
        ctx.put("messages", messages.stream().map(m -> Map.of("role", m.role(), "content", m.content())).toList());
        ctx.put("bos_token", bosToken);
        ctx.put("eos_token", eosToken);
        ctx.put("add_generation_prompt", addGenerationPrompt);
        RenderResult result;
        try {
            result = jinjava.renderForResult(template, ctx);
        } catch (TemplateRejected e) {
            throw new JudgeInputException(JudgeTokenizer.CONFIG_FILE, "chat_template", e.getMessage(), e);
        }
        Throwable rejected = result.getErrors().stream().map(e -> e.getException())
                .filter(e -> e != null).map(ChatTemplate::rootCause).filter(e -> e instanceof TemplateRejected)
                .findFirst().orElse(null);
        if (rejected != null) {
            throw new JudgeInputException(JudgeTokenizer.CONFIG_FILE, "chat_template", rejected.getMessage());
        }
        var fatal = result.getErrors().stream()
                .filter(e -> e.getSeverity() == com.hubspot.jinjava.interpret.TemplateError.ErrorType.FATAL)
                .findFirst();
        if (fatal.isPresent()) {
            throw new JudgeInputException(JudgeTokenizer.CONFIG_FILE, "chat_template",
                    "cannot render: " + fatal.get().getMessage());
        }
        return result.getOutput();
    }

    private static Throwable rootCause(Throwable t) {
        while (t.getCause() != null && t.getCause() != t) {
            if (t instanceof TemplateRejected) {
                return t;
            }
            t = t.getCause();
        }
        return t;
    }
}
