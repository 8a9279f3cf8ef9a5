package dev.tract.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tract.judge.data.CanonicalJson;
import dev.tract.judge.data.SyntheticTask;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Dev mode end to end: a tiny pipeline submitted over HTTP, followed to completion, its report read back. */
class DevModeTest {
    @TempDir
    static Path tmp;
    static DevMode dev;
    static Path spec;

    @BeforeAll
    static void start() throws Exception {
        dev = DevMode.start(0, 0, 0, tmp.resolve("runs"), tmp, "dev-token-0123456789");
        Path specs = tmp.resolve("specs");
        Files.createDirectories(specs);
        CanonicalJson.write(specs.resolve("train.jsonl"), SyntheticTask.generate(10, 1));
        CanonicalJson.write(specs.resolve("test.jsonl"), SyntheticTask.generate(6, 2));
        spec = Files.writeString(specs.resolve("pipeline.yaml"), """
                name: dev-e2e
                seed_model: {preset: tiny}
                train_data: train.jsonl
                eval_sets: [{name: synthetic, data: test.jsonl}]
                method: tract
                stage1: {steps: 3, batch_size: 4, max_length: 300}
                stage2: {steps: 3, batch_size: 4, max_length: 300}
                generation: {max_new_tokens: 12}
                shard_size: 5
                """);
    }

    @AfterAll
    static void stop() throws Exception {
        dev.close();
    }

    String[] api(String... args) {
        String[] all = new String[args.length + 4];
        System.arraycopy(args, 0, all, 0, args.length);
        all[args.length] = "--api";
        all[args.length + 1] = dev.apiUrl();
        all[args.length + 2] = "--token";
        all[args.length + 3] = dev.token();
        return all;
    }

    @Test
    void submitWatchStatusListAndReport() throws Exception {
        CliRun submit = CliRun.of(api("submit", spec.toString(), "--watch", "--json"));
        assertThat(submit.exitCode()).as(submit.err()).isZero();
        JsonNode p = submit.json();
        String id = p.get("id").asText();
        assertThat(p.get("state").asText()).isEqualTo("COMPLETED");
        assertThat(p.at("/result/evals/0/n").asInt() + p.at("/result/evals/0/nDropped").asInt()).isEqualTo(6);

        CliRun status = CliRun.of(api("status", id));
        assertThat(status.out()).contains(id + " COMPLETED").contains("synthetic").contains("report:");
        assertThat(CliRun.of(api("list", "--json")).json().get("pipelines").findValuesAsText("id")).contains(id);
        CliRun report = CliRun.of(api("report", id, "--html", tmp.resolve("r.html").toString()));
        assertThat(report.exitCode()).as(report.err()).isZero();
        assertThat(report.out()).contains("stage1").contains("Pearson");
        assertThat(Files.readString(tmp.resolve("r.html"))).contains("<h1>" + id + "</h1>");
    }

    @Test
    void helpfulErrors() throws Exception {
        CliRun wrongToken = CliRun.of("list", "--api", dev.apiUrl(), "--token", "nope");
        assertThat(wrongToken.exitCode()).isEqualTo(2);
        assertThat(wrongToken.err()).contains("rejected the token").hasLineCount(1);
        CliRun unknown = CliRun.of(api("status", "no-such-pipeline"));
        assertThat(unknown.exitCode()).isEqualTo(2);
        assertThat(unknown.err()).contains("not found").hasLineCount(1);
        CliRun unreachable = CliRun.of("list", "--api", "http://localhost:1", "--token", "x");
        assertThat(unreachable.exitCode()).isEqualTo(1);
        assertThat(unreachable.err()).contains("unreachable").hasLineCount(1);
        Path bad = Files.writeString(tmp.resolve("bad.yaml"), "train_data: t.jsonl\nmethod: magic\n");
        CliRun invalid = CliRun.of(api("submit", bad.toString()));
        assertThat(invalid.exitCode()).isEqualTo(2);
        assertThat(invalid.err()).contains("method").contains("eval_sets");
    }
}
