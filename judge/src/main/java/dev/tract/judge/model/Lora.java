package dev.tract.judge.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.core.Linear;
import ai.djl.nn.norm.Dropout;
import dev.tract.judge.JudgeInputException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * LoRA adapters on the projection matrices: y = W x + scale * B (A dropout(x)), A [r, in], B [out, r]. B starts
 * at zero, so a fresh adapter leaves the model's output unchanged. Saved in PEFT's layout:
 * {@code adapter_config.json} and {@code adapter_model.safetensors} with tensors named
 * {@code base_model.model.<module>.lora_A.weight}.
 */
public final class Lora implements AutoCloseable {
    public static final String WEIGHTS_FILE = "adapter_model.safetensors";
    private static final String PEFT_PREFIX = "base_model.model.";

    private final LoraConfig config;
    private final NDManager manager;
    private final Map<String, NDArray> a = new LinkedHashMap<>();
    private final Map<String, NDArray> b = new LinkedHashMap<>();
    private final NDArray scaleArray;
    private final Map<String, long[]> shapes;

    private Lora(LoraConfig config, NDManager manager, LlamaModel model) {
        this.config = config;
        this.manager = manager;
        this.shapes = LlamaModel.expectedShapes(model.config());
        this.scaleArray = manager.create(new float[] {(float) config.scale()}).toType(model.dtype(), false);
        ai.djl.ndarray.NDScope.unregister(scaleArray);
    }

    /** The modules LoRA can adapt in a model of this config, in a stable order, with [out, in] shapes. */
    static Map<String, long[]> targets(LlamaConfig c, LoraConfig lc) {
        Map<String, long[]> out = new LinkedHashMap<>();
        Map<String, long[]> base = LlamaModel.expectedShapes(c);
        for (int i = 0; i < c.numHiddenLayers(); i++) {
            for (String proj : LoraConfig.ALL_LINEAR) {
                if (lc.targets(proj)) {
                    String module = LlamaModel.projectionPath(i, proj);
                    out.put(module, base.get(module + ".weight"));
                }
            }
        }
        return out;
    }

    /** Fresh adapters: A Kaiming-uniform (as PEFT initialises it), B zero. */
    public static Lora init(LlamaModel model, LoraConfig config, long seed) {
        Lora lora = new Lora(config, model.manager().newSubManager(), model);
        Random rnd = new Random(seed);
        for (Map.Entry<String, long[]> e : targets(model.config(), config).entrySet()) {
            long out = e.getValue()[0];
            long in = e.getValue()[1];
            float bound = (float) (1.0 / Math.sqrt(in));
            float[] av = new float[(int) (config.rank() * in)];
            for (int i = 0; i < av.length; i++) {
                av[i] = (rnd.nextFloat() * 2 - 1) * bound;
            }
            lora.a.put(e.getKey(), lora.manager.create(av, new Shape(config.rank(), in)).toType(model.dtype(), false));
            lora.b.put(e.getKey(), lora.manager.zeros(new Shape(out, config.rank()), model.dtype()));
        }
        return lora;
    }

    /** Loads a PEFT adapter directory for this model. */
    public static Lora load(LlamaModel model, Path dir) {
        LoraConfig config = LoraConfig.read(dir.resolve(LoraConfig.FILE));
        Path file = dir.resolve(WEIGHTS_FILE);
        if (!Files.isRegularFile(file)) {
            throw new JudgeInputException(file.toString(), null, "adapter weights not found");
        }
        Map<String, SafeTensors.Tensor> tensors = SafeTensors.read(file);
        Lora lora = new Lora(config, model.manager().newSubManager(), model);
        for (Map.Entry<String, long[]> e : targets(model.config(), config).entrySet()) {
            String module = e.getKey();
            long out = e.getValue()[0];
            long in = e.getValue()[1];
            lora.a.put(module, lora.tensor(tensors, file, module, "lora_A", new long[] {config.rank(), in}, model));
            lora.b.put(module, lora.tensor(tensors, file, module, "lora_B", new long[] {out, config.rank()}, model));
        }
        return lora;
    }

    private NDArray tensor(Map<String, SafeTensors.Tensor> tensors, Path file, String module, String which,
                           long[] shape, LlamaModel model) {
        String name = PEFT_PREFIX + module + "." + which + ".weight";
        SafeTensors.Tensor t = tensors.get(name);
        if (t == null) {
            throw new JudgeInputException(file.toString(), name, "tensor is missing (adapter_config.json targets "
                    + config.targetModules() + ")");
        }
        if (!java.util.Arrays.equals(t.shape(), shape)) {
            throw new JudgeInputException(file.toString(), name, "has shape " + java.util.Arrays.toString(t.shape())
                    + " but the model and r=" + config.rank() + " need " + java.util.Arrays.toString(shape));
        }
        return manager.create(t.toFloats(file.toString(), name), new Shape(shape)).toType(model.dtype(), false);
    }

    public void save(Path dir, String baseModel) throws IOException {
        Files.createDirectories(dir);
        config.write(dir.resolve(LoraConfig.FILE), baseModel);
        Map<String, SafeTensors.Tensor> out = new LinkedHashMap<>();
        for (String module : a.keySet()) {
            out.put(PEFT_PREFIX + module + ".lora_A.weight", Checkpoints.toTensor(a.get(module)));
            out.put(PEFT_PREFIX + module + ".lora_B.weight", Checkpoints.toTensor(b.get(module)));
        }
        SafeTensors.write(dir.resolve(WEIGHTS_FILE), out);
    }

    /** Adds the adapter's contribution to a base projection's output. */
    NDArray apply(String module, NDArray x, NDArray base, boolean training) {
        return a.containsKey(module) ? base.add(output(module, x, training)) : base;
    }

    /** scale * B A dropout(x) for one adapted module. */
    private NDArray output(String module, NDArray x, boolean training) {
        NDArray in = training && config.dropout() > 0 ? Dropout.dropout(x, (float) config.dropout(), true)
                .singletonOrThrow() : x;
        NDArray low = Linear.linear(in, a.get(module)).singletonOrThrow();
        return Linear.linear(low, b.get(module)).singletonOrThrow().mul(scaleArray);
    }

    /**
     * Adds the adapters of several projections that the model computes as one fused matrix (q/k/v, gate/up) to
     * the fused output; parts without an adapter contribute zeros.
     */
    NDArray addFused(NDArray fusedOut, NDArray x, boolean training, int layer, String... parts) {
        NDList pieces = new NDList();
        boolean any = false;
        Shape lead = x.getShape().slice(0, x.getShape().dimension() - 1);
        for (String part : parts) {
            String module = LlamaModel.projectionPath(layer, part);
            if (a.containsKey(module)) {
                pieces.add(output(module, x, training));
                any = true;
            } else {
                long rows = shapes.get(module + ".weight")[0];
                pieces.add(x.getManager().zeros(lead.add(rows), x.getDataType()));
            }
        }
        return any ? fusedOut.add(NDArrays.concat(pieces, lead.dimension())) : fusedOut;
    }

    /** W + scale * B A for one module, or null when the module has no adapter. */
    NDArray delta(String module) {
        NDArray la = a.get(module);
        return la == null ? null : b.get(module).matMul(la).mul(scaleArray);
    }

    /** The trainable tensors (A and B of every module), named as in PEFT's file. */
    public Map<String, NDArray> parameters() {
        Map<String, NDArray> p = new LinkedHashMap<>();
        for (String module : a.keySet()) {
            p.put(PEFT_PREFIX + module + ".lora_A.weight", a.get(module));
            p.put(PEFT_PREFIX + module + ".lora_B.weight", b.get(module));
        }
        return p;
    }

    public List<String> modules() {
        return new ArrayList<>(a.keySet());
    }

    public LoraConfig config() {
        return config;
    }

    DataType dtype() {
        return a.values().iterator().next().getDataType();
    }

    @Override
    public void close() {
        manager.close();
    }
}
