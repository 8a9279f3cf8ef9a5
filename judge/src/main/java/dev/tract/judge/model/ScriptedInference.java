package dev.tract.judge.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDScope;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.engine.PtNDManager;
import ai.djl.pytorch.engine.PtSymbolBlock;
import ai.djl.pytorch.jni.IValue;
import ai.djl.pytorch.jni.IValueUtils;
import ai.djl.pytorch.jni.JniUtils;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

/**
 * The inference forward pass of {@link LlamaModel} as one engine call. Through DJL every tensor operation is a JNI
 * call costing 5 to 25 µs, and a decoding step of a small model is some 370 of them, most of its time. Here the
 * same operations run inside libtorch's TorchScript interpreter: the program ({@code llama_inference.ts.py}, next
 * to this class) is packaged as a TorchScript archive in memory and loaded by the engine; it holds no weights (they
 * are passed in, the model's own tensors) and computes what {@link LlamaModel#forward} computes, operation for
 * operation, so its outputs are bit-identical (LlamaModelTest checks this). Training without LoRA calls the same
 * decoder with gradients recorded ({@link #train}), and its gradients are bit-identical too.
 */
final class ScriptedInference implements AutoCloseable {
    private static final String CLASS_NAME = "LlamaInference";
    private static final byte[] ARCHIVE = archive();

    private final PtSymbolBlock module;

    ScriptedInference(PtNDManager manager) {
        try {
            this.module = JniUtils.loadModule(manager, new ByteArrayInputStream(ARCHIVE), false, false);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        JniUtils.enableInferenceMode(module);
    }

    /**
     * Runs the program. {@code ints} are described in the program's header; the result is the final hidden states
     * [B, T, hidden], or float32 logits [B, vocab] of the last slot.
     */
    NDArray run(PtNDManager manager, NDArray ids, NDArray positions, NDArray keyMask, IValue weights,
                IValue constants, IValue keys, IValue values, long[] ints) {
        IValue[] in = {
            IValue.from((PtNDArray) ids), IValue.from((PtNDArray) positions), IValue.from((PtNDArray) keyMask),
            weights, constants, keys, values, IValue.listFrom(ints)};
        // the profiling executor would re-specialise and re-optimise the program for every new prompt length (a
        // stall of many milliseconds each time); run it as written, as the interpreter does. The switch is
        // per thread.
        JniUtils.setGraphExecutorOptimize(false);
        try (IValue out = module.forward(in)) {
            return out.toTensor(manager);
        } finally {
            for (int i : new int[] {0, 1, 2, 7}) {
                in[i].close();
            }
        }
    }

    /**
     * The program's decoder for training, with gradients recorded: the final hidden states [B, T, hidden]. The
     * weights and constants are the model's own arrays, named as DJL's list inputs; {@code ints} as for
     * {@link #run}.
     */
    NDArray train(PtNDManager manager, NDArray ids, NDArray positions, NDArray keyMask, List<NDArray> weights,
                  List<NDArray> constants, long[] ints) {
        if (method == null) {
            method = manager.create(new float[0]);
            method.setName("module_method:decode_for_training");
            NDScope.unregister(method);
        }
        NDList in = new NDList(method, ids, positions, keyMask);
        in.addAll(weights);
        in.addAll(constants);
        NDArray intArray = manager.create(ints);
        in.add(intArray);
        JniUtils.setGraphExecutorOptimize(false);
        try {
            return IValueUtils.forward(module, in, true).singletonOrThrow();
        } finally {
            intArray.close();
        }
    }

    private NDArray method;

    @Override
    public void close() {
        if (method != null) {
            method.close();
        }
        module.close();
    }

    /** The TorchScript archive: format version 3, the program as the class's code, a module with no attributes. */
    private static byte[] archive() {
        byte[] code;
        try (InputStream in = ScriptedInference.class.getResourceAsStream("llama_inference.ts.py")) {
            code = in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        ByteArrayOutputStream data = new ByteArrayOutputStream();
        // pickle protocol 2: GLOBAL __torch__.<class>, EMPTY_TUPLE, NEWOBJ, EMPTY_DICT, MARK, 'training': True,
        // SETITEMS, BUILD, STOP
        data.write(0x80);
        data.write(2);
        data.writeBytes(("c__torch__\n" + CLASS_NAME + "\n").getBytes(StandardCharsets.US_ASCII));
        data.writeBytes(new byte[] {')', (byte) 0x81, '}', '(', 'X', 8, 0, 0, 0});
        data.writeBytes("training".getBytes(StandardCharsets.US_ASCII));
        data.writeBytes(new byte[] {(byte) 0x88, 'u', 'b', '.'});
        ByteArrayOutputStream zip = new ByteArrayOutputStream();
        try (ZipOutputStream z = new ZipOutputStream(zip)) {
            z.setMethod(ZipOutputStream.STORED);
            put(z, "archive/version", "3\n".getBytes(StandardCharsets.US_ASCII));
            put(z, "archive/constants.pkl", new byte[] {(byte) 0x80, 2, ')', '.'});
            put(z, "archive/data.pkl", data.toByteArray());
            put(z, "archive/code/__torch__.py", code);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return zip.toByteArray();
    }

    private static void put(ZipOutputStream z, String name, byte[] bytes) throws IOException {
        ZipEntry e = new ZipEntry(name);
        e.setSize(bytes.length);
        CRC32 crc = new CRC32();
        crc.update(bytes);
        e.setCrc(crc.getValue());
        z.putNextEntry(e);
        z.write(bytes);
        z.closeEntry();
    }
}
