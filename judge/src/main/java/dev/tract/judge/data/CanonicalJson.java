package dev.tract.judge.data;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;

/**
 * tract's canonical JSONL: one object per line with id, instruction, response, reference_answer, rubric {criteria,
 * score1_description..score5_description}, feedbacks [...] and scores [...]. The content digest of a dataset is the
 * sha256 of this serialisation, so the same examples give the same digest whatever file they came from.
 */
public final class CanonicalJson {
    private static final ObjectMapper JSON = new ObjectMapper();

    private CanonicalJson() {}

    public static ObjectNode toJson(JudgeExample e) {
        ObjectNode o = JSON.createObjectNode();
        o.put("id", e.id());
        o.put("instruction", e.instruction());
        o.put("response", e.response());
        o.put("reference_answer", e.referenceAnswer());
        ObjectNode r = o.putObject("rubric");
        r.put("criteria", e.rubric().criteria());
        for (int k = 1; k <= 5; k++) {
            r.put("score" + k + "_description", e.rubric().description(k));
        }
        ArrayNode f = o.putArray("feedbacks");
        e.feedbacks().forEach(f::add);
        ArrayNode s = o.putArray("scores");
        for (double v : e.scores()) {
            if (v == Math.rint(v)) {
                s.add((int) v);
            } else {
                s.add(v);
            }
        }
        return o;
    }

    public static String line(JudgeExample e) {
        try {
            return JSON.writeValueAsString(toJson(e));
        } catch (IOException ex) {
            throw new IllegalStateException(ex);
        }
    }

    /** Writes the examples as canonical JSONL (atomically: a reader never sees half a file). */
    public static void write(Path file, List<JudgeExample> examples) throws IOException {
        Path parent = file.toAbsolutePath().getParent();
        Files.createDirectories(parent);
        Path tmp = Files.createTempFile(parent, file.getFileName().toString(), ".tmp");
        try (BufferedWriter w = Files.newBufferedWriter(tmp, StandardCharsets.UTF_8)) {
            for (JudgeExample e : examples) {
                w.write(line(e));
                w.write('\n');
            }
        }
        Files.move(tmp, file, java.nio.file.StandardCopyOption.REPLACE_EXISTING,
                java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    }

    /** sha256 (hex) of the canonical serialisation of the examples, in order. */
    public static String digest(List<JudgeExample> examples) {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            for (JudgeExample e : examples) {
                md.update(line(e).getBytes(StandardCharsets.UTF_8));
                md.update((byte) '\n');
            }
            return HexFormat.of().formatHex(md.digest());
        } catch (NoSuchAlgorithmException ex) {
            throw new IllegalStateException(ex);
        }
    }
}
