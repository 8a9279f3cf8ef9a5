package dev.tract.judge.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tract.judge.JudgeInputException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DatasetsTest {
    static final Path VICUNA = Path.of("src/test/resources/data/vicuna-bench/vicuna_eval.json");
    static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path tmp;

    @Test
    void vicunaBenchLoadsAndItsPromptsRenderBackExactly() throws Exception {
        Datasets.Loaded l = Datasets.read(VICUNA);
        assertThat(l.problems()).isEmpty();
        assertThat(l.examples()).hasSize(320);
        assertThat(l.shapes()).containsEntry("prometheus-eval", 320);
        JsonNode raw = JSON.readTree(VICUNA.toFile());
        for (int i = 0; i < raw.size(); i++) {
            JudgeExample e = l.examples().get(i);
            assertThat(PromptTemplate.PROMETHEUS.render(e)).as("record %d", i)
                    .isEqualTo(raw.get(i).get("instruction").asText());
            double sum = 0;
            for (JsonNode s : raw.get(i).get("gpt4_score")) {
                sum += s.asDouble();
            }
            assertThat(e.gold()).isCloseTo(sum / raw.get(i).get("gpt4_score").size(),
                    org.assertj.core.data.Offset.offset(1e-12));
            assertThat(e.feedbacks()).hasSize(3);
            assertThat(e.rubric().descriptions()).allSatisfy(d -> assertThat(d).isNotBlank());
        }
        JudgeExample first = l.examples().get(0);
        assertThat(first.id()).isEqualTo("1-vicuna");
        assertThat(first.instruction()).isEqualTo("How can I improve my time management skills?");
        assertThat(first.rubric().criteria()).startsWith("Does the response provide detailed");
        assertThat(first.rubric().description(5)).startsWith("The response is comprehensive");
    }

    @Test
    void jsonArrayAndJsonlOfTheSameRecordsGiveTheSameExamplesAndDigest() throws Exception {
        JsonNode raw = JSON.readTree(VICUNA.toFile());
        Path jsonl = tmp.resolve("v.jsonl");
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < 20; i++) {
            sb.append(JSON.writeValueAsString(raw.get(i))).append('\n');
        }
        Files.writeString(jsonl, sb);
        ArrayNode arr = JSON.createArrayNode();
        for (int i = 0; i < 20; i++) {
            arr.add(raw.get(i));
        }
        Path array = tmp.resolve("v.json");
        Files.writeString(array, JSON.writerWithDefaultPrettyPrinter().writeValueAsString(arr));
        List<JudgeExample> a = Datasets.load(jsonl);
        List<JudgeExample> b = Datasets.load(array);
        assertThat(a).isEqualTo(b);
        assertThat(CanonicalJson.digest(a)).isEqualTo(CanonicalJson.digest(b)).hasSize(64);
        assertThat(CanonicalJson.digest(a.subList(0, 19))).isNotEqualTo(CanonicalJson.digest(a));
        Path canonical = tmp.resolve("c.jsonl");
        CanonicalJson.write(canonical, a);
        assertThat(Datasets.load(canonical)).isEqualTo(a);
        assertThat(Datasets.read(canonical).shapes()).containsEntry("canonical", 20);
    }

    static ObjectNode feedbackCollectionRecord() {
        ObjectNode o = JSON.createObjectNode();
        o.put("orig_instruction", "Explain photosynthesis to a child.");
        o.put("orig_response", "Plants eat sunlight.");
        o.put("orig_reference_answer", "Plants use sunlight, water and air to make their food.");
        o.put("orig_criteria", "Is the explanation accurate and suited to a child?");
        for (int k = 1; k <= 5; k++) {
            o.put("orig_score" + k + "_description", "Description of score " + k + ".");
        }
        o.put("orig_feedback", "The response is simple but vague. So the overall score is 2");
        o.put("orig_score", "2");
        return o;
    }

    @Test
    void feedbackCollectionFieldsAndItsInstructionOutputPairGiveTheSameExample() throws Exception {
        ObjectNode fc = feedbackCollectionRecord();
        JudgeExample fromFields = Datasets.load(write("fc.jsonl", fc)).get(0);
        assertThat(fromFields.gold()).isEqualTo(2.0);
        assertThat(fromFields.rubric().description(3)).isEqualTo("Description of score 3.");
        ObjectNode pair = JSON.createObjectNode();
        pair.put("instruction", PrometheusPrompt.render(fromFields));
        pair.put("output", "Feedback: The response is simple but vague. So the overall score is 2 [RESULT] 2");
        JudgeExample fromPair = Datasets.load(write("pair.json", JSON.createArrayNode().add(pair))).get(0);
        assertThat(fromPair.instruction()).isEqualTo(fromFields.instruction());
        assertThat(fromPair.response()).isEqualTo(fromFields.response());
        assertThat(fromPair.referenceAnswer()).isEqualTo(fromFields.referenceAnswer());
        assertThat(fromPair.rubric()).isEqualTo(fromFields.rubric());
        assertThat(fromPair.gold()).isEqualTo(2.0);
        assertThat(Targets.target(fromPair.feedback(), 2))
                .isEqualTo("The response is simple but vague. So the overall score is 2");
    }

    private Path write(String name, Object... records) throws Exception {
        Path p = tmp.resolve(name);
        if (records.length == 1 && records[0] instanceof ArrayNode a) {
            Files.writeString(p, JSON.writeValueAsString(a));
        } else {
            StringBuilder sb = new StringBuilder();
            for (Object r : records) {
                sb.append(JSON.writeValueAsString(r)).append('\n');
            }
            Files.writeString(p, sb);
        }
        return p;
    }

    @Test
    void everyProblemIsReportedWithLocationAndField() throws Exception {
        ObjectNode good = feedbackCollectionRecord();
        good.put("id", "a");
        ObjectNode missing = feedbackCollectionRecord();
        missing.put("id", "b");
        missing.remove("orig_response");
        ObjectNode outside = feedbackCollectionRecord();
        outside.put("id", "c");
        outside.put("orig_score", 7);
        ObjectNode emptyRubric = feedbackCollectionRecord();
        emptyRubric.put("id", "d");
        emptyRubric.put("orig_score4_description", " ");
        ObjectNode duplicate = feedbackCollectionRecord();
        duplicate.put("id", "a");
        Path file = tmp.resolve("bad.jsonl");
        Files.writeString(file, String.join("\n", JSON.writeValueAsString(good), "{not json",
                JSON.writeValueAsString(missing), JSON.writeValueAsString(outside), JSON.writeValueAsString(emptyRubric),
                JSON.writeValueAsString(duplicate)) + "\n");
        Datasets.Loaded l = Datasets.read(file);
        assertThat(l.examples()).hasSize(1);
        assertThat(l.records()).isEqualTo(6);
        String problems = l.problems().stream().map(DataProblem::toString).collect(Collectors.joining("\n"));
        assertThat(problems)
                .contains(file + ":2: field '(json)': not valid JSON")
                .contains(file + ":3: field 'orig_response': is missing")
                .contains(file + ":4: field 'orig_score': score 7 is outside 1-5")
                .contains(file + ":5: field 'orig_score4_description'")
                .contains(file + ":6: field 'id': duplicate id 'a' (first at " + file + ":1)");
        assertThatThrownBy(() -> Datasets.load(file)).isInstanceOf(JudgeInputException.class)
                .hasMessageContaining(file + ":2").hasMessageContaining("and 4 more problem(s)");
    }

    @Test
    void emptyAndUnrecognisedDataAreRejected() throws Exception {
        Path empty = tmp.resolve("empty.jsonl");
        Files.writeString(empty, "\n");
        assertThat(Datasets.read(empty).problems()).extracting(DataProblem::message)
                .contains("the dataset has no records");
        ObjectNode odd = JSON.createObjectNode().put("question", "x");
        Datasets.Loaded l = Datasets.read(write("odd.jsonl", odd));
        assertThat(l.problems().get(0).message()).contains("not a recognised judge record").contains("question");
        Path broken = tmp.resolve("broken.json");
        Files.writeString(broken, "[{\"a\": 1},\n {\"b\": ]");
        assertThat(Datasets.read(broken).problems().get(0).location()).isEqualTo(broken + ":2");
        assertThat(Datasets.read(broken).examples()).as("nothing read from a broken file").isEmpty();
    }
}
