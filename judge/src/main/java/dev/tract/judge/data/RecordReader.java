package dev.tract.judge.data;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;

/** Reads one record of any supported shape into a {@link JudgeExample}, noting every problem. */
final class RecordReader {
    private final String location;
    private final JsonNode node;
    private final int index;
    private final List<DataProblem> problems = new ArrayList<>();
    private String shape = "unknown";
    private final boolean goldOptional;

    RecordReader(String location, JsonNode node, int index, boolean goldOptional) {
        this.location = location;
        this.node = node;
        this.index = index;
        this.goldOptional = goldOptional;
    }

    List<DataProblem> problems() {
        return problems;
    }

    String shape() {
        return shape;
    }

    JudgeExample read() {
        if (!node.isObject()) {
            problem("(record)", "expected a JSON object, got " + node.getNodeType().name().toLowerCase());
            return null;
        }
        if (node.has("orig_instruction") || node.has("orig_response") || node.has("orig_criteria")) {
            shape = "feedback-collection";
            return feedbackCollection();
        }
        if (node.has("gpt4_score") || node.has("gpt4_feedback")) {
            shape = "prometheus-eval";
            return prometheusEval();
        }
        if (node.has("rubric") || node.has("reference_answer") || node.has("scores")) {
            shape = "canonical";
            return canonical();
        }
        if (node.has("instruction") && node.has("output")) {
            shape = "feedback-collection";
            return instructionOutputPair();
        }
        problem("(record)", "not a recognised judge record (expected Feedback Collection orig_* fields, a "
                + "Prometheus evaluation record with gpt4_score, or a canonical record with rubric and scores); "
                + "its fields are " + fieldNames());
        return null;
    }

    private String fieldNames() {
        List<String> names = new ArrayList<>();
        node.fieldNames().forEachRemaining(names::add);
        return names.toString();
    }

    private void problem(String field, String message) {
        problems.add(new DataProblem(location, field, message));
    }

    private String text(JsonNode from, String field, String path, boolean required) {
        JsonNode n = from.get(field);
        if (n == null || n.isNull()) {
            if (required) {
                problem(path, "is missing");
            }
            return "";
        }
        if (!n.isTextual()) {
            problem(path, "must be a string, got " + n.getNodeType().name().toLowerCase());
            return "";
        }
        return n.asText();
    }

    private String id(String fallbackPrefix) {
        JsonNode id = node.get("id");
        if (id != null && !id.isNull()) {
            return id.asText();
        }
        JsonNode idx = node.get("idx");
        if (idx != null && !idx.isNull()) {
            JsonNode source = node.get("response_source");
            return source != null && !source.isNull() ? idx.asText() + "-" + source.asText() : idx.asText();
        }
        return fallbackPrefix + index;
    }

    private Double score(JsonNode n, String path) {
        if (n == null || n.isNull()) {
            problem(path, "is missing");
            return null;
        }
        double v;
        if (n.isNumber()) {
            v = n.asDouble();
        } else if (n.isTextual()) {
            try {
                v = Double.parseDouble(n.asText().strip());
            } catch (NumberFormatException e) {
                problem(path, "must be a number from 1 to 5, got \"" + n.asText() + "\"");
                return null;
            }
        } else {
            problem(path, "must be a number from 1 to 5, got " + n);
            return null;
        }
        if (!(v >= 1 && v <= 5)) {
            problem(path, "score " + n.asText() + " is outside 1-5");
            return null;
        }
        return v;
    }

    private Rubric checkRubric(Rubric r, String path) {
        if (r.criteria().isBlank()) {
            problem(path + ".criteria", "the rubric's criteria are empty");
        }
        for (int k = 1; k <= 5; k++) {
            if (r.description(k).isBlank()) {
                problem(path + ".score" + k + "_description", "the rubric's description of score " + k
                        + " is empty");
            }
        }
        return r;
    }

    private JudgeExample feedbackCollection() {
        String instruction = text(node, "orig_instruction", "orig_instruction", true);
        String response = text(node, "orig_response", "orig_response", true);
        String reference = text(node, "orig_reference_answer", "orig_reference_answer", true);
        List<String> desc = new ArrayList<>();
        for (int k = 1; k <= 5; k++) {
            desc.add(text(node, "orig_score" + k + "_description", "orig_score" + k + "_description", true));
        }
        Rubric rubric = new Rubric(text(node, "orig_criteria", "orig_criteria", true), desc);
        if (problems.isEmpty()) {
            checkRubricNamed(rubric);
        }
        String feedback = text(node, "orig_feedback", "orig_feedback", false);
        JsonNode sn = node.get("orig_score");
        Double score = goldOptional && (sn == null || sn.isNull()) ? null : score(sn, "orig_score");
        return problems.isEmpty() ? new JudgeExample(id("fc-"), instruction, response, reference, rubric,
                feedback.isBlank() ? List.of() : List.of(feedback), score == null ? List.of() : List.of(score))
                : null;
    }

    private void checkRubricNamed(Rubric r) {
        if (r.criteria().isBlank()) {
            problem("orig_criteria", "the rubric's criteria are empty");
        }
        for (int k = 1; k <= 5; k++) {
            if (r.description(k).isBlank()) {
                problem("orig_score" + k + "_description", "the rubric's description of score " + k + " is empty");
            }
        }
    }

    private JudgeExample instructionOutputPair() {
        String prompt = text(node, "instruction", "instruction", true);
        String output = text(node, "output", "output", true);
        PrometheusPrompt.Sections s = sections(prompt);
        int result = output.lastIndexOf("[RESULT]");
        if (result < 0) {
            problem("output", "has no \"[RESULT] n\" score");
            return null;
        }
        Double score = score(JsonNodeText.of(output.substring(result + "[RESULT]".length()).strip()), "output");
        String feedback = output.substring(0, result).strip();
        if (feedback.startsWith("Feedback:")) {
            feedback = feedback.substring("Feedback:".length()).strip();
        }
        return problems.isEmpty() ? new JudgeExample(id("fc-"), s.instruction(), s.response(),
                s.referenceAnswer(), s.rubric(), feedback.isEmpty() ? List.of() : List.of(feedback),
                List.of(score)) : null;
    }

    private PrometheusPrompt.Sections sections(String prompt) {
        if (prompt.isEmpty()) {
            return null;
        }
        PrometheusPrompt.Sections s = PrometheusPrompt.parse(prompt);
        if (s.instruction() == null) {
            problem("instruction", "the prompt has no \"###The instruction to evaluate:\" section");
        }
        if (s.response() == null) {
            problem("instruction", "the prompt has no \"###Response to evaluate:\" section");
        }
        if (s.rubric() == null) {
            problem("instruction", "the prompt has no \"###Score Rubrics:\" section");
        } else {
            checkRubric(s.rubric(), "instruction.rubric");
        }
        return new PrometheusPrompt.Sections(s.instruction(), s.response(),
                s.referenceAnswer() == null ? "" : s.referenceAnswer(), s.rubric());
    }

    private JudgeExample prometheusEval() {
        String prompt = text(node, "instruction", "instruction", true);
        PrometheusPrompt.Sections s = sections(prompt);
        List<Double> scores = new ArrayList<>();
        JsonNode sn = node.get("gpt4_score");
        if (sn == null || sn.isNull()) {
            if (!goldOptional) {
                problem("gpt4_score", "is missing");
            }
        } else if (sn.isArray()) {
            if (sn.isEmpty()) {
                problem("gpt4_score", "has no scores");
            }
            for (int i = 0; i < sn.size(); i++) {
                scores.add(score(sn.get(i), "gpt4_score[" + i + "]"));
            }
        } else {
            scores.add(score(sn, "gpt4_score"));
        }
        List<String> feedbacks = new ArrayList<>();
        JsonNode fn = node.get("gpt4_feedback");
        if (fn != null && fn.isArray()) {
            for (int i = 0; i < fn.size(); i++) {
                if (!fn.get(i).isTextual()) {
                    problem("gpt4_feedback[" + i + "]", "must be a string");
                } else {
                    feedbacks.add(stripResult(fn.get(i).asText()));
                }
            }
        } else if (fn != null && fn.isTextual()) {
            feedbacks.add(stripResult(fn.asText()));
        }
        return problems.isEmpty() ? new JudgeExample(id("eval-"), s.instruction(), s.response(),
                s.referenceAnswer(), s.rubric(), feedbacks, scores) : null;
    }

    private static String stripResult(String feedback) {
        int r = feedback.lastIndexOf("[RESULT]");
        String f = r >= 0 ? feedback.substring(0, r) : feedback;
        f = f.strip();
        return f.startsWith("Feedback:") ? f.substring("Feedback:".length()).strip() : f;
    }

    private JudgeExample canonical() {
        String id = text(node, "id", "id", true);
        String instruction = text(node, "instruction", "instruction", true);
        String response = text(node, "response", "response", true);
        String reference = text(node, "reference_answer", "reference_answer", false);
        JsonNode r = node.get("rubric");
        Rubric rubric = null;
        if (r == null || r.isNull()) {
            problem("rubric", "is missing");
        } else if (!r.isObject()) {
            problem("rubric", "must be an object with criteria and score1_description..score5_description");
        } else {
            List<String> desc = new ArrayList<>();
            for (int k = 1; k <= 5; k++) {
                desc.add(text(r, "score" + k + "_description", "rubric.score" + k + "_description", true));
            }
            rubric = checkRubric(new Rubric(text(r, "criteria", "rubric.criteria", true), desc), "rubric");
        }
        List<String> feedbacks = new ArrayList<>();
        JsonNode fn = node.get("feedbacks");
        if (fn != null && !fn.isNull()) {
            if (!fn.isArray()) {
                problem("feedbacks", "must be a list of strings");
            } else {
                for (int i = 0; i < fn.size(); i++) {
                    if (!fn.get(i).isTextual()) {
                        problem("feedbacks[" + i + "]", "must be a string");
                    } else {
                        feedbacks.add(fn.get(i).asText());
                    }
                }
            }
        }
        List<Double> scores = new ArrayList<>();
        JsonNode sn = node.get("scores");
        if (sn == null || sn.isNull()) {
            if (!goldOptional) {
                problem("scores", "is missing");
            }
        } else if (!sn.isArray() || (sn.isEmpty() && !goldOptional)) {
            problem("scores", "must be a non-empty list of scores 1-5");
        } else {
            for (int i = 0; i < sn.size(); i++) {
                scores.add(score(sn.get(i), "scores[" + i + "]"));
            }
        }
        return problems.isEmpty() ? new JudgeExample(id, instruction, response, reference, rubric, feedbacks,
                scores) : null;
    }

    /** A text node, to run a score found inside a string through the same checks. */
    private static final class JsonNodeText {
        static JsonNode of(String s) {
            return com.fasterxml.jackson.databind.node.TextNode.valueOf(s);
        }
    }
}
