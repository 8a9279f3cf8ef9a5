package dev.tract.judge.model;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tract.judge.JudgeInputException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import java.util.TreeSet;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Model weights in the Hugging Face layout: {@code config.json} plus {@code model.safetensors}, or shards listed
 * in {@code model.safetensors.index.json}. Files in float16 or bfloat16 are converted on load. What this class
 * writes loads in transformers unchanged.
 */
public final class Checkpoints {
    public static final String WEIGHTS = "model.safetensors";
    public static final String INDEX = "model.safetensors.index.json";
    private static final Logger LOG = LoggerFactory.getLogger(Checkpoints.class);
    private static final ObjectMapper JSON = new ObjectMapper();

    private Checkpoints() {}

    /** Loads the model of a directory onto a device, in the given compute dtype. */
    public static LlamaModel load(Path dir, Device device, DataType dtype) {
        if (!Files.isDirectory(dir)) {
            throw new JudgeInputException(dir.toString(), null, "model directory not found");
        }
        LlamaConfig config = LlamaConfig.read(dir.resolve(LlamaConfig.FILE));
        Map<String, SafeTensors.Tensor> tensors = new HashMap<>();
        Map<String, Path> fileOf = new HashMap<>();
        Path single = dir.resolve(WEIGHTS);
        Path index = dir.resolve(INDEX);
        if (Files.isRegularFile(single)) {
            SafeTensors.read(single).forEach((k, v) -> {
                tensors.put(k, v);
                fileOf.put(k, single);
            });
        } else if (Files.isRegularFile(index)) {
            for (Path shard : shards(index)) {
                SafeTensors.read(shard).forEach((k, v) -> {
                    tensors.put(k, v);
                    fileOf.put(k, shard);
                });
            }
        } else {
            throw new JudgeInputException(dir.toString(), null, "neither " + WEIGHTS + " nor " + INDEX
                    + " found (only safetensors checkpoints are supported)");
        }
        NDManager manager = NDManager.newBaseManager(device);
        try {
            Map<String, NDArray> weights = new LinkedHashMap<>();
            for (Map.Entry<String, long[]> e : LlamaModel.expectedShapes(config).entrySet()) {
                String name = e.getKey();
                SafeTensors.Tensor t = tensors.get(name);
                if (t == null) {
                    throw new JudgeInputException(dir.resolve(WEIGHTS).toString(), name, "tensor is missing; "
                            + "config.json (" + describe(config) + ") needs it");
                }
                String source = fileOf.get(name).toString();
                if (!Arrays.equals(t.shape(), e.getValue())) {
                    throw new JudgeInputException(source, name, "has shape " + Arrays.toString(t.shape())
                            + " but config.json (" + describe(config) + ") needs " + Arrays.toString(e.getValue()));
                }
                weights.put(name, toArray(manager, t, source, name, dtype));
            }
            TreeSet<String> unused = new TreeSet<>(tensors.keySet());
            unused.removeAll(weights.keySet());
            unused.removeIf(n -> n.endsWith("rotary_emb.inv_freq") || (n.equals(LlamaModel.LM_HEAD)
                    && config.tieWordEmbeddings()));
            if (!unused.isEmpty()) {
                LOG.warn("{}: {} tensor(s) not used by the model, e.g. {}", dir, unused.size(), unused.first());
            }
            return new LlamaModel(config, manager, weights, dtype);
        } catch (RuntimeException e) {
            manager.close();
            throw e;
        }
    }

    private static String describe(LlamaConfig c) {
        return "hidden_size=" + c.hiddenSize() + ", intermediate_size=" + c.intermediateSize()
                + ", num_attention_heads=" + c.numAttentionHeads() + ", num_key_value_heads="
                + c.numKeyValueHeads() + ", vocab_size=" + c.vocabSize();
    }

    private static Iterable<Path> shards(Path index) {
        try {
            JsonNode map = JSON.readTree(index.toFile()).path("weight_map");
            if (!map.isObject()) {
                throw new JudgeInputException(index.toString(), "weight_map", "is missing");
            }
            TreeSet<String> files = new TreeSet<>();
            Iterator<JsonNode> it = map.elements();
            while (it.hasNext()) {
                files.add(it.next().asText());
            }
            return files.stream().map(f -> {
                Path p = index.resolveSibling(f);
                if (!Files.isRegularFile(p)) {
                    throw new JudgeInputException(index.toString(), "weight_map", "shard " + f + " not found");
                }
                return p;
            }).toList();
        } catch (IOException e) {
            throw new JudgeInputException(index.toString(), null, "not valid JSON: " + e.getMessage(), e);
        }
    }

    private static NDArray toArray(NDManager manager, SafeTensors.Tensor t, String source, String name,
                                   DataType dtype) {
        NDArray a = manager.create(t.toFloats(source, name), new Shape(t.shape()));
        return dtype == DataType.FLOAT32 ? a : a.toType(dtype, false);
    }

    /** Writes config.json and model.safetensors (float32) into a directory. */
    public static void save(LlamaModel model, Path dir) throws IOException {
        Files.createDirectories(dir);
        SafeTensors.writeLazily(dir.resolve(WEIGHTS), model.hfTensorsLazily());
        model.config().withTorchDtype("float32").write(dir.resolve(LlamaConfig.FILE));
    }

    /** An NDArray as a float32 safetensors entry whose bytes are copied out when it is written. */
    public static SafeTensors.Lazy lazy(NDArray a) {
        return new SafeTensors.Lazy("F32", a.getShape().getShape(), a.getShape().size() * 4,
                () -> toTensor(a).data());
    }

    /** An NDArray as a float32 safetensors entry. */
    static SafeTensors.Tensor toTensor(NDArray a) {
        NDArray f = a.getDataType() == DataType.FLOAT32 ? a : a.toType(DataType.FLOAT32, false);
        ByteBuffer src = f.toByteBuffer().order(ByteOrder.nativeOrder());
        ByteBuffer b = ByteBuffer.allocate(src.remaining()).order(ByteOrder.LITTLE_ENDIAN);
        b.asFloatBuffer().put(src.asFloatBuffer());
        if (f != a) {
            f.close();
        }
        return new SafeTensors.Tensor("F32", a.getShape().getShape(), b);
    }

    /**
     * A randomly initialised model as transformers initialises Llama: normal(0, initializer_range) for embeddings
     * and projections, ones for norms, zeros for biases. Deterministic for a seed.
     */
    public static LlamaModel randomInit(LlamaConfig config, long seed, Device device) {
        NDManager manager = NDManager.newBaseManager(device);
        Random rnd = new Random(seed);
        Map<String, NDArray> weights = new LinkedHashMap<>();
        for (Map.Entry<String, long[]> e : LlamaModel.expectedShapes(config).entrySet()) {
            long n = 1;
            for (long d : e.getValue()) {
                n *= d;
            }
            float[] v = new float[(int) n];
            String name = e.getKey();
            if (name.endsWith("norm.weight")) {
                Arrays.fill(v, 1f);
            } else if (!name.endsWith(".bias")) {
                for (int i = 0; i < v.length; i++) {
                    v[i] = (float) (rnd.nextGaussian() * config.initializerRange());
                }
            }
            weights.put(name, manager.create(v, new Shape(e.getValue())));
        }
        return new LlamaModel(config, manager, weights, DataType.FLOAT32);
    }
}
