package dev.tract.judge.tokenizer;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Writes a byte-level BPE {@code tokenizer.json} (GPT-2's byte alphabet, digits split one per token) learned from a
 * corpus, for the models this project trains from scratch. The tokenizers library has no training API in Java, so
 * the merges are learned here: repeatedly merge the most frequent adjacent pair of symbols within pre-tokens.
 * Any text encodes (every byte has a token); each digit is its own token, so scores 1-5 are single tokens.
 */
public final class ByteLevelBpe {
    public static final String PAD = "<pad>";
    public static final String BOS = "<s>";
    public static final String EOS = "</s>";
    public static final List<String> SPECIALS = List.of(PAD, BOS, EOS);

    private static final Pattern DIGIT_SPLIT = Pattern.compile("\\p{N}|[^\\p{N}]+");
    private static final Pattern GPT2 = Pattern.compile(
            "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+");
    private static final char[] BYTE_CHARS = byteChars();
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private final List<String> vocab;
    private final List<String> merges;

    private ByteLevelBpe(List<String> vocab, List<String> merges) {
        this.vocab = vocab;
        this.merges = merges;
    }

    /** GPT-2's reversible map from bytes to printable characters. */
    private static char[] byteChars() {
        char[] map = new char[256];
        boolean[] direct = new boolean[256];
        for (int b = '!'; b <= '~'; b++) {
            direct[b] = true;
        }
        for (int b = 0xA1; b <= 0xAC; b++) {
            direct[b] = true;
        }
        for (int b = 0xAE; b <= 0xFF; b++) {
            direct[b] = true;
        }
        int n = 0;
        for (int b = 0; b < 256; b++) {
            map[b] = direct[b] ? (char) b : (char) (256 + n++);
        }
        return map;
    }

    /** Splits text into pre-tokens exactly as the written tokenizer.json does, mapped to the byte alphabet. */
    static List<String> preTokenize(String text) {
        List<String> out = new ArrayList<>();
        Matcher pieces = DIGIT_SPLIT.matcher(text);
        while (pieces.find()) {
            Matcher m = GPT2.matcher(pieces.group());
            while (m.find()) {
                byte[] bytes = m.group().getBytes(StandardCharsets.UTF_8);
                StringBuilder sb = new StringBuilder(bytes.length);
                for (byte b : bytes) {
                    sb.append(BYTE_CHARS[b & 0xff]);
                }
                out.add(sb.toString());
            }
        }
        return out;
    }

    /**
     * Learns merges until the vocabulary (specials + 256 bytes + merges) reaches {@code vocabSize} or no pair occurs
     * twice. Deterministic: ties go to the lexicographically smallest pair.
     */
    public static ByteLevelBpe train(String corpus, int vocabSize) {
        Map<String, Integer> wordCounts = new HashMap<>();
        for (String w : preTokenize(corpus)) {
            wordCounts.merge(w, 1, Integer::sum);
        }
        List<String> vocab = new ArrayList<>(SPECIALS);
        for (char c : BYTE_CHARS) {
            vocab.add(String.valueOf(c));
        }
        List<List<String>> words = new ArrayList<>();
        List<Integer> counts = new ArrayList<>();
        wordCounts.entrySet().stream().sorted(Map.Entry.comparingByKey()).forEach(e -> {
            List<String> symbols = new ArrayList<>();
            e.getKey().codePoints().forEach(cp -> symbols.add(new String(Character.toChars(cp))));
            words.add(symbols);
            counts.add(e.getValue());
        });
        List<String> merges = new ArrayList<>();
        java.util.Set<String> known = new java.util.HashSet<>(vocab);
        while (vocab.size() < vocabSize) {
            Map<String, Integer> pairs = new HashMap<>();
            for (int w = 0; w < words.size(); w++) {
                List<String> s = words.get(w);
                for (int i = 0; i + 1 < s.size(); i++) {
                    pairs.merge(s.get(i) + " " + s.get(i + 1), counts.get(w), Integer::sum);
                }
            }
            String best = null;
            int bestCount = 1;
            for (Map.Entry<String, Integer> e : pairs.entrySet()) {
                int c = e.getValue();
                if (c > bestCount || (c == bestCount && best != null && e.getKey().compareTo(best) < 0)) {
                    best = e.getKey();
                    bestCount = c;
                }
            }
            if (best == null) {
                break;
            }
            int sp = best.indexOf(' ');
            String left = best.substring(0, sp);
            String right = best.substring(sp + 1);
            String joined = left + right;
            merges.add(best);
            if (known.add(joined)) {
                vocab.add(joined);
            }
            for (List<String> s : words) {
                for (int i = 0; i + 1 < s.size(); i++) {
                    if (s.get(i).equals(left) && s.get(i + 1).equals(right)) {
                        s.set(i, joined);
                        s.remove(i + 1);
                    }
                }
            }
        }
        return new ByteLevelBpe(vocab, merges);
    }

    public int vocabSize() {
        return vocab.size();
    }

    public int bosId() {
        return SPECIALS.indexOf(BOS);
    }

    public int eosId() {
        return SPECIALS.indexOf(EOS);
    }

    public int padId() {
        return SPECIALS.indexOf(PAD);
    }

    /** Writes tokenizer.json and tokenizer_config.json into a directory. */
    public void write(Path dir, int modelMaxLength) throws IOException {
        Files.createDirectories(dir);
        JsonNodeFactory f = JsonNodeFactory.instance;
        ObjectNode root = f.objectNode();
        root.put("version", "1.0");
        root.putNull("truncation");
        root.putNull("padding");
        ArrayNode added = root.putArray("added_tokens");
        for (int i = 0; i < SPECIALS.size(); i++) {
            added.addObject().put("id", i).put("content", SPECIALS.get(i)).put("single_word", false)
                    .put("lstrip", false).put("rstrip", false).put("normalized", false).put("special", true);
        }
        root.putNull("normalizer");
        ObjectNode pre = root.putObject("pre_tokenizer");
        pre.put("type", "Sequence");
        ArrayNode pres = pre.putArray("pretokenizers");
        pres.addObject().put("type", "Digits").put("individual_digits", true);
        pres.addObject().put("type", "ByteLevel").put("add_prefix_space", false).put("trim_offsets", true)
                .put("use_regex", true);
        ObjectNode post = root.putObject("post_processor");
        post.put("type", "TemplateProcessing");
        ArrayNode single = post.putArray("single");
        single.addObject().putObject("SpecialToken").put("id", BOS).put("type_id", 0);
        single.addObject().putObject("Sequence").put("id", "A").put("type_id", 0);
        ArrayNode pair = post.putArray("pair");
        pair.addObject().putObject("SpecialToken").put("id", BOS).put("type_id", 0);
        pair.addObject().putObject("Sequence").put("id", "A").put("type_id", 0);
        pair.addObject().putObject("SpecialToken").put("id", BOS).put("type_id", 1);
        pair.addObject().putObject("Sequence").put("id", "B").put("type_id", 1);
        ObjectNode st = post.putObject("special_tokens").putObject(BOS);
        st.put("id", BOS);
        st.putArray("ids").add(bosId());
        st.putArray("tokens").add(BOS);
        root.putObject("decoder").put("type", "ByteLevel").put("add_prefix_space", true).put("trim_offsets", true)
                .put("use_regex", true);
        ObjectNode model = root.putObject("model");
        model.put("type", "BPE");
        model.putNull("dropout");
        model.putNull("unk_token");
        model.putNull("continuing_subword_prefix");
        model.putNull("end_of_word_suffix");
        model.put("fuse_unk", false);
        model.put("byte_fallback", false);
        model.put("ignore_merges", false);
        ObjectNode v = model.putObject("vocab");
        Map<String, Integer> ids = new LinkedHashMap<>();
        for (int i = 0; i < vocab.size(); i++) {
            ids.putIfAbsent(vocab.get(i), i);
        }
        ids.forEach(v::put);
        ArrayNode m = model.putArray("merges");
        merges.forEach(m::add);
        JSON.writeValue(dir.resolve(JudgeTokenizer.FILE).toFile(), root);

        ObjectNode cfg = f.objectNode();
        cfg.put("tokenizer_class", "PreTrainedTokenizerFast");
        cfg.put("bos_token", BOS);
        cfg.put("eos_token", EOS);
        cfg.put("pad_token", PAD);
        cfg.put("model_max_length", modelMaxLength);
        cfg.put("clean_up_tokenization_spaces", false);
        cfg.put("padding_side", "left");
        JSON.writeValue(dir.resolve(JudgeTokenizer.CONFIG_FILE).toFile(), cfg);
    }
}
