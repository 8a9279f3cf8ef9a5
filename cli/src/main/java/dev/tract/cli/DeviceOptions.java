package dev.tract.cli;

import ai.djl.Device;
import ai.djl.ndarray.types.DataType;
import dev.tract.judge.runtime.Devices;
import picocli.CommandLine.Option;

/** --device and --dtype, shared by commands that run a model. */
final class DeviceOptions {
    @Option(names = "--device", defaultValue = "${env:TRACT_DEVICE:-auto}",
            description = "auto (a GPU when the engine has one), cpu, gpu or gpu:N (default: ${DEFAULT-VALUE})")
    String device;

    @Option(names = "--dtype", defaultValue = "float32",
            description = "float32, or float16/bfloat16 on a GPU (default: ${DEFAULT-VALUE})")
    String dtype;

    Device device() {
        return Devices.resolve(device);
    }

    DataType dtype(Device d) {
        return Devices.dtype(dtype, d);
    }
}
