package dev.tract.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * The documentation cannot drift from the code: every block marked runnable in the README and docs/ runs, line by
 * line, in a fresh folder; every `./tract` command in any block names a command that exists.
 */
class DocsTest {
    static final Path ROOT = Path.of("..").toAbsolutePath().normalize();

    @TempDir
    Path tmp;

    /** A fenced block of a document: where it starts, whether it is marked runnable, its lines. */
    record Block(Path file, int line, boolean runnable, List<String> lines) {}

    static List<Path> documents() throws Exception {
        List<Path> docs = new ArrayList<>(List.of(ROOT.resolve("README.md")));
        try (Stream<Path> s = Files.list(ROOT.resolve("docs"))) {
            s.filter(p -> p.toString().endsWith(".md")).sorted().forEach(docs::add);
        }
        return docs;
    }

    static List<Block> blocks(Path file) throws Exception {
        List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        List<Block> out = new ArrayList<>();
        for (int i = 0; i < lines.size(); i++) {
            if (!lines.get(i).startsWith("```")) {
                continue;
            }
            boolean runnable = i > 0 && lines.get(i - 1).strip().equals("<!-- runnable -->");
            int start = i;
            List<String> body = new ArrayList<>();
            for (i++; i < lines.size() && !lines.get(i).startsWith("```"); i++) {
                body.add(lines.get(i));
            }
            out.add(new Block(file, start + 1, runnable, body));
        }
        return out;
    }

    /** Splits a command line into words: whitespace, single and double quotes, a trailing # comment. */
    static List<String> words(String line) {
        List<String> out = new ArrayList<>();
        StringBuilder w = new StringBuilder();
        boolean any = false;
        char quote = 0;
        for (char c : line.toCharArray()) {
            if (quote != 0) {
                if (c == quote) {
                    quote = 0;
                } else {
                    w.append(c);
                }
            } else if (c == '\'' || c == '"') {
                quote = c;
                any = true;
            } else if (c == '#' && w.length() == 0 && !any) {
                break;
            } else if (Character.isWhitespace(c)) {
                if (w.length() > 0 || any) {
                    out.add(w.toString());
                    w.setLength(0);
                    any = false;
                }
            } else {
                w.append(c);
            }
        }
        if (w.length() > 0 || any) {
            out.add(w.toString());
        }
        return out;
    }

    @Test
    void everyRunnableBlockRuns() throws Exception {
        int ran = 0;
        for (Path doc : documents()) {
            for (Block b : blocks(doc)) {
                if (!b.runnable()) {
                    continue;
                }
                Path dir = Files.createTempDirectory(tmp, "block");
                copy(ROOT.resolve("examples"), dir.resolve("examples"));
                for (int k = 0; k < b.lines().size(); k++) {
                    List<String> w = words(b.lines().get(k));
                    if (w.isEmpty()) {
                        continue;
                    }
                    String where = ROOT.relativize(doc) + ":" + (b.line() + k + 1) + ": " + b.lines().get(k);
                    assertThat(w.get(0)).as(where + " (runnable blocks hold ./tract commands only)")
                            .isEqualTo("./tract");
                    List<String> cmd = new ArrayList<>(List.of(
                            Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-cp",
                            System.getProperty("java.class.path"), TractCli.class.getName()));
                    cmd.addAll(w.subList(1, w.size()));
                    Process p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true).start();
                    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                    assertThat(p.waitFor(300, TimeUnit.SECONDS)).as(where).isTrue();
                    assertThat(p.exitValue()).as(where + "\n" + out).isZero();
                    ran++;
                }
            }
        }
        assertThat(ran).as("commands run from runnable blocks").isGreaterThanOrEqualTo(9);
    }

    @Test
    void everyDocumentedCommandExists() throws Exception {
        CommandLine cli = new CommandLine(new TractCli());
        int checked = 0;
        for (Path doc : documents()) {
            for (Block b : blocks(doc)) {
                for (int k = 0; k < b.lines().size(); k++) {
                    List<String> w = words(b.lines().get(k));
                    if (w.size() < 2 || !w.get(0).equals("./tract")) {
                        continue;
                    }
                    String where = ROOT.relativize(doc) + ":" + (b.line() + k + 1);
                    CommandLine cmd = cli.getSubcommands().get(w.get(1));
                    assertThat(cmd).as(where + ": ./tract " + w.get(1) + " is not a command").isNotNull();
                    Set<String> subs = cmd.getSubcommands().keySet();
                    if (!subs.isEmpty() && w.size() > 2 && !w.get(2).startsWith("-")) {
                        assertThat(subs).as(where + ": ./tract " + w.get(1) + " " + w.get(2)).contains(w.get(2));
                    }
                    checked++;
                }
            }
        }
        assertThat(checked).isGreaterThan(20);
    }

    private static void copy(Path from, Path to) throws Exception {
        try (Stream<Path> s = Files.walk(from)) {
            for (Path p : s.toList()) {
                if (p.toString().contains("/data/")) {
                    continue;
                }
                Path t = to.resolve(from.relativize(p).toString());
                if (Files.isDirectory(p)) {
                    Files.createDirectories(t);
                } else {
                    Files.copy(p, t);
                }
            }
        }
    }
}
