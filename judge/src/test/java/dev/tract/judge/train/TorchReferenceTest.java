package dev.tract.judge.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tract.judge.TestModels;
import dev.tract.judge.model.Checkpoints;
import dev.tract.judge.model.LlamaModel;
import dev.tract.judge.tokenizer.JudgeTokenizer;
import dev.tract.judge.tokenizer.ScoreTokens;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The objectives against PyTorch (src/test/python/torch_objectives_reference.py): loss and gradient with respect to
 * the logits equal to 1e-5. Needs a python3 that imports torch ($TRACT_TORCH_PYTHON, python3 or /usr/bin/python3);
 * without one the test is skipped with a message.
 */
class TorchReferenceTest {
    private static final Path SCRIPT = Path.of("src/test/python/torch_objectives_reference.py").toAbsolutePath();
    private static final ObjectMapper JSON = new ObjectMapper();
    static LlamaModel model;
    static ScoreTokens scores;
    static String python;

    @BeforeAll
    static void setUp() throws Exception {
        model = Checkpoints.load(TestModels.tiny(), Device.cpu(), DataType.FLOAT32);
        try (JudgeTokenizer tokenizer = JudgeTokenizer.load(TestModels.tiny())) {
            scores = ScoreTokens.detect(tokenizer);
        }
        List<String> candidates = new ArrayList<>();
        String env = System.getenv("TRACT_TORCH_PYTHON");
        if (env != null) {
            candidates.add(env);
        }
        candidates.addAll(List.of("python3", "/usr/bin/python3"));
        for (String c : candidates) {
            try {
                Process p = new ProcessBuilder(c, "-c", "import torch").redirectErrorStream(true).start();
                if (p.waitFor(120, TimeUnit.SECONDS) && p.exitValue() == 0) {
                    python = c;
                    break;
                }
            } catch (java.io.IOException e) {
                // not installed: try the next one
            }
        }
    }

    @AfterAll
    static void tearDown() {
        model.close();
    }

    @ParameterizedTest(name = "{0}, lambda {1}, renormalise {2}")
    @CsvSource({"COT_RAFT, 0.5, false", "COT_RAFT, 1.0, true", "CE, 1.0, false", "RAFT, 1.0, false",
        "RAFT, 1.0, true"})
    void lossAndGradientEqualPyTorch(Objective objective, double lambda, boolean renormalize) throws Exception {
        assumeTrue(python != null, "a python3 with torch is needed for the PyTorch reference (apt install "
                + "python3-torch, or set TRACT_TORCH_PYTHON)");
        int vocab = model.config().vocabSize();
        int n = 24;
        int b = 4;
        Random rnd = new Random(objective.ordinal() * 31L + (renormalize ? 7 : 0));
        float[] ceValues = new float[n * vocab];
        float[] scoreValues = new float[b * vocab];
        for (int i = 0; i < ceValues.length; i++) {
            ceValues[i] = (float) (3 * rnd.nextGaussian());
        }
        for (int i = 0; i < scoreValues.length; i++) {
            scoreValues[i] = (float) (3 * rnd.nextGaussian());
        }
        for (int r = 0; r < b; r++) {
            // make the score tokens likely, as after training, so that RAFT's gradient is not negligible
            for (long id : scores.ids()) {
                scoreValues[r * vocab + (int) id] += 8f;
            }
        }
        long[] labels = new long[n];
        for (int i = 0; i < n; i++) {
            labels[i] = rnd.nextInt(vocab);
        }
        float[] gold = new float[b];
        for (int r = 0; r < b; r++) {
            gold[r] = 1 + rnd.nextInt(9) / 2f;
        }
        boolean withCe = objective.hasCrossEntropy();
        boolean withRaft = objective.hasRaft();

        Losses losses = new Losses(model, objective, lambda, renormalize, scores);
        float total;
        float[] ceGrad = null;
        float[] scoreGrad = null;
        try (NDManager m = NDManager.newBaseManager(Device.cpu());
             GradientCollector gc = Engine.getInstance().newGradientCollector()) {
            NDArray ce = m.create(ceValues, new Shape(n, vocab));
            NDArray score = m.create(scoreValues, new Shape(b, vocab));
            ce.setRequiresGradient(true);
            score.setRequiresGradient(true);
            Losses.Parts parts = losses.fromLogits(withCe ? ce : null, labels, withRaft ? score : null, gold);
            total = parts.total().getFloat();
            gc.backward(parts.total());
            if (withCe) {
                ceGrad = ce.getGradient().toFloatArray();
            }
            if (withRaft) {
                scoreGrad = score.getGradient().toFloatArray();
            }
        }

        ObjectNode q = JSON.createObjectNode();
        if (withCe) {
            q.set("ce_logits", JSON.valueToTree(rows(ceValues, n, vocab)));
            q.set("ce_labels", JSON.valueToTree(labels));
        }
        if (withRaft) {
            q.set("score_logits", JSON.valueToTree(rows(scoreValues, b, vocab)));
            q.set("gold", JSON.valueToTree(gold));
            q.set("score_ids", JSON.valueToTree(scores.ids()));
        }
        q.put("lambda", lambda).put("renormalize", renormalize);
        JsonNode want = run(q);

        assertThat((double) total).as("loss").isCloseTo(want.get("total").asDouble(), within(1e-5));
        if (withCe) {
            assertClose(ceGrad, want.get("ce_grad"), vocab, "d loss / d CE logits");
        }
        if (withRaft) {
            assertClose(scoreGrad, want.get("score_grad"), vocab, "d loss / d score logits");
            double largest = 0;
            for (float g : scoreGrad) {
                largest = Math.max(largest, Math.abs(g));
            }
            assertThat(largest).as("RAFT gradient is exercised").isGreaterThan(1e-3);
        }
    }

    private static float[][] rows(float[] flat, int n, int width) {
        float[][] out = new float[n][];
        for (int i = 0; i < n; i++) {
            out[i] = java.util.Arrays.copyOfRange(flat, i * width, (i + 1) * width);
        }
        return out;
    }

    private static void assertClose(float[] got, JsonNode want, int width, String what) {
        assertThat(want.size() * width).as(what + " size").isEqualTo(got.length);
        for (int i = 0; i < got.length; i++) {
            double w = want.get(i / width).get(i % width).asDouble();
            assertThat((double) got[i]).as("%s [%d, %d]", what, i / width, i % width).isCloseTo(w, within(1e-5));
        }
    }

    private static JsonNode run(ObjectNode query) throws Exception {
        Process p = new ProcessBuilder(python, SCRIPT.toString()).redirectError(ProcessBuilder.Redirect.INHERIT)
                .start();
        try (var in = p.getOutputStream()) {
            in.write(JSON.writeValueAsBytes(query));
        }
        byte[] out = p.getInputStream().readAllBytes();
        assertThat(p.waitFor(120, TimeUnit.SECONDS) && p.exitValue() == 0).as("PyTorch reference ran").isTrue();
        return JSON.readTree(new String(out, StandardCharsets.UTF_8));
    }
}
