package dev.tract.judge.runtime;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.types.DataType;
import dev.tract.judge.JudgeInputException;

/** Device and dtype selection: a GPU when the engine has one, the CPU otherwise, or what the user names. */
public final class Devices {
    private Devices() {}

    /**
     * Resolves a device name: {@code auto} (the engine's default, a GPU when present), {@code cpu}, {@code gpu}
     * or {@code gpu:N}.
     */
    public static Device resolve(String name) {
        String n = name == null ? "auto" : name.trim().toLowerCase();
        Engine engine = Engine.getInstance();
        if (n.isEmpty() || n.equals("auto")) {
            return engine.defaultDevice();
        }
        if (n.equals("cpu")) {
            return Device.cpu();
        }
        if (n.equals("gpu") || n.equals("cuda")) {
            n = "gpu:0";
        }
        if (n.startsWith("gpu:") || n.startsWith("cuda:")) {
            int id;
            try {
                id = Integer.parseInt(n.substring(n.indexOf(':') + 1));
            } catch (NumberFormatException e) {
                throw new JudgeInputException("--device", "device", "'" + name + "' is not cpu, gpu, gpu:N or auto");
            }
            int count = engine.getGpuCount();
            if (id >= count) {
                throw new JudgeInputException("--device", "device", "'" + name + "' asked for GPU " + id
                        + " but the engine sees " + count + " GPU(s)");
            }
            return Device.gpu(id);
        }
        throw new JudgeInputException("--device", "device", "'" + name + "' is not cpu, gpu, gpu:N or auto");
    }

    /**
     * Resolves the compute dtype. fp32 everywhere; fp16 and bf16 only on a GPU (the CPU build of libtorch in DJL
     * cannot hold bf16 tensors).
     */
    public static DataType dtype(String name, Device device) {
        String n = name == null ? "float32" : name.trim().toLowerCase();
        DataType type = switch (n) {
            case "float32", "fp32", "auto" -> DataType.FLOAT32;
            case "float16", "fp16", "half" -> DataType.FLOAT16;
            case "bfloat16", "bf16" -> DataType.BFLOAT16;
            default -> throw new JudgeInputException("--dtype", "dtype", "'" + name
                    + "' is not float32, float16 or bfloat16");
        };
        if (type != DataType.FLOAT32 && !device.isGpu()) {
            throw new JudgeInputException("--dtype", "dtype", n + " needs a GPU; on the CPU the model runs in float32");
        }
        return type;
    }
}
