package dev.tract.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tract.judge.data.CanonicalJson;
import dev.tract.judge.data.DataProblem;
import dev.tract.judge.data.Datasets;
import dev.tract.judge.data.JudgeExample;
import dev.tract.judge.data.SyntheticTask;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

@Command(name = "data", description = "Check, convert and generate judge datasets.",
        subcommands = {DataCommand.Check.class, DataCommand.Synth.class, DataCommand.Convert.class})
final class DataCommand {

    @Command(name = "check", mixinStandardHelpOptions = true,
            description = "Validate a dataset (any supported shape, JSON array or JSONL); exit 2 if any record is "
                    + "invalid.")
    static final class Check implements Callable<Integer> {
        @Spec
        picocli.CommandLine.Model.CommandSpec spec;

        @Parameters(paramLabel = "FILE")
        Path file;

        @Option(names = "--json", description = "print {valid, invalid, errors: [{location, field, message}]}")
        boolean json;

        @Override
        public Integer call() {
            Datasets.Loaded l = Datasets.read(file);
            PrintWriter out = spec.commandLine().getOut();
            if (json) {
                ObjectNode o = Json.object();
                o.put("valid", l.examples().size());
                o.put("invalid", l.invalid());
                ArrayNode errors = o.putArray("errors");
                for (DataProblem p : l.problems()) {
                    errors.addObject().put("location", p.location()).put("field", p.field())
                            .put("message", p.message());
                }
                ObjectNode shapes = o.putObject("shapes");
                l.shapes().forEach(shapes::put);
                if (l.valid()) {
                    o.put("digest", CanonicalJson.digest(l.examples()));
                }
                Json.print(out, o);
            } else {
                for (DataProblem p : l.problems()) {
                    out.println(p);
                }
                out.printf("%d valid, %d invalid record(s) %s%n", l.examples().size(), l.invalid(), l.shapes());
            }
            return l.valid() ? 0 : TractCli.EXIT_BAD_INPUT;
        }
    }

    @Command(name = "synth", mixinStandardHelpOptions = true,
            description = "Write a built-in synthetic judge task (canonical JSONL): a response lists four items, "
                    + "the prompt states the rule they must meet, the feedback checks each one; score = 1 + passes.")
    static final class Synth implements Callable<Integer> {
        @Spec
        picocli.CommandLine.Model.CommandSpec spec;

        @Option(names = "--n", required = true, description = "number of examples")
        int n;

        @Option(names = "--seed", defaultValue = "0", description = "default: ${DEFAULT-VALUE}")
        long seed;

        @Option(names = "--out", required = true, description = "output file (JSONL)")
        Path out;

        @Option(names = "--task", defaultValue = "checklist", description = "checklist (rules stated in the "
                + "prompt) or recall (facts to memorise); default: ${DEFAULT-VALUE}")
        String task;

        @Option(names = "--json", description = "print {out, n, digest, scores}")
        boolean json;

        @Override
        public Integer call() throws Exception {
            if (n < 1) {
                throw new dev.tract.judge.JudgeInputException("--n", "n", "must be at least 1, got " + n);
            }
            List<JudgeExample> examples = SyntheticTask.named(task).examples(n, seed);
            CanonicalJson.write(out, examples);
            Map<Integer, Integer> scores = new TreeMap<>();
            examples.forEach(e -> scores.merge(e.goldScore(), 1, Integer::sum));
            if (json) {
                ObjectNode o = Json.object();
                o.put("out", out.toString());
                o.put("n", examples.size());
                o.put("digest", CanonicalJson.digest(examples));
                ObjectNode s = o.putObject("scores");
                scores.forEach((k, v) -> s.put(String.valueOf(k), v));
                Json.print(spec.commandLine().getOut(), o);
            } else {
                spec.commandLine().getOut().printf("wrote %d examples to %s (scores %s)%n", n, out, scores);
            }
            return 0;
        }
    }

    @Command(name = "convert", mixinStandardHelpOptions = true,
            description = "Convert a dataset of any supported shape to canonical JSONL.")
    static final class Convert implements Callable<Integer> {
        @Spec
        picocli.CommandLine.Model.CommandSpec spec;

        @Parameters(paramLabel = "FILE")
        Path file;

        @Option(names = "--out", required = true, description = "output file (canonical JSONL)")
        Path out;

        @Option(names = "--json", description = "print {out, n, digest}")
        boolean json;

        @Override
        public Integer call() throws Exception {
            List<JudgeExample> examples = Datasets.load(file);
            CanonicalJson.write(out, examples);
            if (json) {
                ObjectNode o = Json.object();
                o.put("out", out.toString());
                o.put("n", examples.size());
                o.put("digest", CanonicalJson.digest(examples));
                Json.print(spec.commandLine().getOut(), o);
            } else {
                spec.commandLine().getOut().printf("wrote %d examples to %s%n", examples.size(), out);
            }
            return 0;
        }
    }
}
