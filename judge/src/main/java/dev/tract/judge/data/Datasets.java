package dev.tract.judge.data;

import com.fasterxml.jackson.core.JsonParseException;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tract.judge.JudgeInputException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads judge datasets in every public shape, as a JSON array or as JSONL, recognising the shape from each
 * record: Feedback Collection / Feedback Bench ({@code orig_*} fields, or their {@code instruction}/{@code output}
 * pair), the Prometheus evaluation files (Vicuna Bench, MT Bench, FLASK: the whole judge prompt in
 * {@code instruction}, {@code gpt4_score} and {@code gpt4_feedback} lists) and tract's canonical JSONL. Every
 * problem is reported with its location (file:line for JSONL, file[index] for an array) and field.
 */
public final class Datasets {
    private static final ObjectMapper JSON = new ObjectMapper();

    private Datasets() {}

    /** Everything read from a file: the valid examples and every problem found. */
    public record Loaded(Path file, List<JudgeExample> examples, List<DataProblem> problems,
                         Map<String, Integer> shapes, int records) {
        public boolean valid() {
            return problems.isEmpty();
        }

        public int invalid() {
            return records - examples.size();
        }
    }

    /** Reads a file and validates every record, collecting all problems. */
    public static Loaded read(Path file) {
        return read(file, false);
    }

    /**
     * Reads a file and validates every record; with {@code goldOptional} a record may lack its gold score (data to
     * be judged), and such examples have no scores.
     */
    public static Loaded read(Path file, boolean goldOptional) {
        if (!Files.isRegularFile(file)) {
            throw new JudgeInputException(file.toString(), null, "data file not found");
        }
        String text;
        try {
            text = Files.readString(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new JudgeInputException(file.toString(), null, "cannot read: " + e.getMessage(), e);
        }
        List<DataProblem> problems = new ArrayList<>();
        List<Located> nodes = new ArrayList<>();
        String name = file.toString();
        String trimmed = text.stripLeading();
        if (trimmed.startsWith("[")) {
            try {
                JsonNode array = JSON.readTree(text);
                for (int i = 0; i < array.size(); i++) {
                    nodes.add(new Located(name + "[" + i + "]", array.get(i)));
                }
            } catch (JsonProcessingException e) {
                var loc = e.getLocation();
                problems.add(new DataProblem(name + (loc == null ? "" : ":" + loc.getLineNr()), "(json)",
                        "not valid JSON: " + e.getOriginalMessage()));
            }
        } else {
            String[] lines = text.split("\n", -1);
            for (int i = 0; i < lines.length; i++) {
                String line = lines[i].strip();
                if (line.isEmpty()) {
                    continue;
                }
                try {
                    nodes.add(new Located(name + ":" + (i + 1), JSON.readTree(line)));
                } catch (JsonProcessingException e) {
                    problems.add(new DataProblem(name + ":" + (i + 1), "(json)", "not valid JSON: "
                            + (e instanceof JsonParseException p ? p.getOriginalMessage() : e.getMessage())));
                }
            }
        }
        List<JudgeExample> examples = new ArrayList<>();
        Map<String, Integer> shapes = new LinkedHashMap<>();
        Map<String, String> seenIds = new HashMap<>();
        int records = nodes.size() + (int) problems.stream().filter(p -> p.field().equals("(json)")).count();
        for (int i = 0; i < nodes.size(); i++) {
            Located n = nodes.get(i);
            RecordReader reader = new RecordReader(n.location(), n.node(), i, goldOptional);
            JudgeExample e = reader.read();
            if (reader.problems().isEmpty()) {
                String previous = seenIds.putIfAbsent(e.id(), n.location());
                if (previous != null) {
                    problems.add(new DataProblem(n.location(), "id", "duplicate id '" + e.id() + "' (first at "
                            + previous + ")"));
                    continue;
                }
                examples.add(e);
                shapes.merge(reader.shape(), 1, Integer::sum);
            } else {
                problems.addAll(reader.problems());
            }
        }
        if (records == 0) {
            problems.add(new DataProblem(name, "(file)", "the dataset has no records"));
        }
        return new Loaded(file, examples, problems, shapes, records);
    }

    /** Reads a file that must be entirely valid; the exception lists the first problems found. */
    public static List<JudgeExample> load(Path file) {
        return load(file, false);
    }

    /** As {@link #load(Path)}; with {@code goldOptional} records may lack their gold score. */
    public static List<JudgeExample> load(Path file, boolean goldOptional) {
        Loaded l = read(file, goldOptional);
        if (!l.valid()) {
            DataProblem first = l.problems().get(0);
            String more = l.problems().size() > 1 ? " (and " + (l.problems().size() - 1) + " more problem(s); run "
                    + "'tract data check " + file + "' to list them)" : "";
            throw new JudgeInputException(first.location(), first.field(), first.message() + more);
        }
        return l.examples();
    }

    private record Located(String location, JsonNode node) {}
}
