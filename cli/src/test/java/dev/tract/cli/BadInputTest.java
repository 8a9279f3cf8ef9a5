package dev.tract.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tract.activities.artifacts.Digests;
import dev.tract.judge.data.CanonicalJson;
import dev.tract.judge.data.SyntheticTask;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every way a user can get input wrong, as a table: each case gives exit code 2, a one-line message that names
 * the file, record or field, and leaves what was already stored exactly as it was.
 */
class BadInputTest {
    @TempDir
    static Path tmp;
    static Path model;
    static Path good;
    static Path stored;

    @BeforeAll
    static void setUp() throws IOException {
        model = tmp.resolve("model");
        assertThat(CliRun.of("model", "init", "--preset", "tiny", "--out", model.toString()).exitCode()).isZero();
        good = tmp.resolve("good.jsonl");
        CanonicalJson.write(good, SyntheticTask.generate(8, 1));
        stored = tmp.resolve("stored");
        Files.createDirectories(stored);
        Files.copy(good, stored.resolve("data.jsonl"));
        Files.writeString(stored.resolve("note.txt"), "kept");
        String line = Files.readAllLines(good).get(0);
        write("malformed.jsonl", line + "\n{\"id\": \"x\", \"instruction\": \n");
        write("malformed.json", "[" + line + ", {\"id\": ]");
        write("missing.jsonl", line.replaceFirst("\"response\":\"[^\"]*\",", ""));
        write("score.jsonl", line.replace("\"scores\":[", "\"scores\":[7,"));
        write("rubric.jsonl", line.replaceFirst("\"criteria\":\"[^\"]*\"", "\"criteria\":\"\""));
        write("empty.jsonl", "\n\n");
        write("duplicate.jsonl", line + "\n" + line + "\n");
        Path badConfig = tmp.resolve("bad-config");
        Files.createDirectories(badConfig);
        Files.writeString(badConfig.resolve("config.json"), "{ not json");
        write("wordlevel.json", """
                {"version":"1.0","added_tokens":[],"normalizer":null,"pre_tokenizer":{"type":"Whitespace"},
                 "post_processor":null,"decoder":null,
                 "model":{"type":"WordLevel","unk_token":"[UNK]","vocab":{"[UNK]":0,"So":1,"score":2}}}""");
        for (String[] s : new String[][] {
            {"traversal.yaml", "name: ../../etc\ntrain_data: good.jsonl\neval_sets: [{name: e, data: good.jsonl}]\n"},
            {"unsafe.yaml", "train_data: good.jsonl\neval_sets: [{name: \"a b/ü\", data: good.jsonl}]\n"},
            {"absurd.yaml", "train_data: good.jsonl\neval_sets: [{name: e, data: good.jsonl}]\n"
                    + "stage1: {lr: -1, batch_size: 0, steps: -5}\n"},
            {"no-room.yaml", "train_data: good.jsonl\neval_sets: [{name: e, data: good.jsonl}]\n"
                    + "stage1: {max_length: 512}\n"}}) {
            write(s[0], s[1]);
        }
    }

    static Path write(String name, String text) throws IOException {
        return Files.writeString(tmp.resolve(name), text);
    }

    record Case(String name, List<String> args, List<String> mustMention) {
        @Override
        public String toString() {
            return name;
        }
    }

    static Stream<Case> cases() {
        String t = tmp.toString();
        String m = model.toString();
        String out = stored.resolve("out").toString();
        return Stream.of(
                new Case("malformed JSONL", List.of("data", "check", t + "/malformed.jsonl"),
                        List.of("malformed.jsonl:2", "(json)")),
                new Case("malformed JSON array", List.of("data", "check", t + "/malformed.json"),
                        List.of("malformed.json", "not valid JSON")),
                new Case("missing field", List.of("data", "convert", t + "/missing.jsonl", "--out",
                        stored + "/data.jsonl"), List.of("missing.jsonl:1", "response", "is missing")),
                new Case("score outside 1-5", List.of("train", "--model", m, "--data", t + "/score.jsonl", "--out",
                        out, "--steps", "1"), List.of("score.jsonl:1", "scores[0]", "outside 1-5")),
                new Case("empty rubric", List.of("data", "check", t + "/rubric.jsonl"),
                        List.of("rubric.jsonl:1", "rubric.criteria")),
                new Case("empty dataset", List.of("data", "check", t + "/empty.jsonl"), List.of("no records")),
                new Case("duplicate ids", List.of("data", "check", t + "/duplicate.jsonl"),
                        List.of("duplicate.jsonl:2", "duplicate id")),
                new Case("unknown model directory", List.of("train", "--model", t + "/nope", "--data",
                        t + "/good.jsonl", "--out", out), List.of("nope", "model directory not found")),
                new Case("unreadable model directory", List.of("logits", "--model", t + "/bad-config", "--text", "x"),
                        List.of("config.json", "not valid JSON")),
                new Case("tokenizer without single-token digits", List.of("model", "init", "--preset", "tiny",
                        "--out", out, "--tokenizer", t + "/wordlevel.json"),
                        List.of("wordlevel.json", "single-token digits")),
                new Case("record longer than any max length", List.of("train", "--model", m, "--data",
                        t + "/good.jsonl", "--out", out, "--max-length", "16"), List.of("max_length", "record")),
                new Case("path traversal in a name", List.of("submit", t + "/traversal.yaml", "--api",
                        "http://localhost:1", "--token", "x"), List.of("name", "../../etc")),
                new Case("characters unsafe in S3 keys", List.of("submit", t + "/unsafe.yaml", "--api",
                        "http://localhost:1", "--token", "x"), List.of("eval_sets[0].name")),
                new Case("negative and absurd hyperparameters", List.of("submit", t + "/absurd.yaml", "--api",
                        "http://localhost:1", "--token", "x"),
                        List.of("stage1.lr", "stage1.batch_size", "stage1.steps")),
                new Case("absurd learning rate for train", List.of("train", "--model", m, "--data",
                        t + "/good.jsonl", "--out", out, "--lr", "7"), List.of("lr")),
                new Case("max length that leaves no room for the feedback", List.of("score", "--model", m,
                        "--data", t + "/good.jsonl", "--out", out + "/p.jsonl", "--max-length", "512"),
                        List.of("--max-length", "--max-new-tokens 1024", "at least 1120")),
                new Case("spec whose max length leaves no room for generation", List.of("submit",
                        t + "/no-room.yaml", "--api", "http://localhost:1", "--token", "x"),
                        List.of("stage1.max_length", "generation.max_new_tokens")),
                new Case("eval data that does not exist", List.of("score", "--model", m, "--data",
                        t + "/no-such-eval.jsonl", "--out", out + "/p.jsonl"), List.of("no-such-eval.jsonl",
                        "not found")));
    }

    static String treeDigest(Path dir) throws IOException {
        MessageDigest md = Digests.sha();
        try (Stream<Path> files = Files.walk(dir)) {
            for (Path f : files.filter(Files::isRegularFile).sorted().toList()) {
                md.update(dir.relativize(f).toString().getBytes());
                md.update(Digests.sha256(f).getBytes());
            }
        }
        return HexFormat.of().formatHex(md.digest());
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void isRefusedClearlyAndChangesNothing(Case c) throws Exception {
        String before = treeDigest(stored);
        String modelBefore = treeDigest(model);
        CliRun run = CliRun.of(c.args().toArray(String[]::new));
        assertThat(run.exitCode()).as(c.name() + ": " + run.err()).isEqualTo(2);
        String message = (run.err() + run.out()).strip();
        for (String s : c.mustMention()) {
            assertThat(message).as(c.name()).contains(s);
        }
        assertThat(message).as("no stack trace").doesNotContain("\tat ").doesNotContain("Exception:");
        assertThat(treeDigest(stored)).as("stored data unchanged").isEqualTo(before);
        assertThat(treeDigest(model)).as("model unchanged").isEqualTo(modelBefore);
    }
}
