package dev.tract.judge.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tract.judge.JudgeInputException;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Supplier;

/**
 * The safetensors file format: an 8-byte little-endian header length, a JSON header naming each tensor's dtype,
 * shape and byte range, then the raw little-endian data. Written with {@code "__metadata__": {"format": "pt"}} as
 * PyTorch's writer does, so that transformers loads the file unchanged.
 */
public final class SafeTensors {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final long MAX_HEADER = 100L << 20;

    private SafeTensors() {}

    /** One tensor as stored: dtype name (F32, F16, BF16, F64, I64, I32...), shape and its raw bytes. */
    public record Tensor(String dtype, long[] shape, ByteBuffer data) {
        public long elements() {
            long n = 1;
            for (long d : shape) {
                n *= d;
            }
            return n;
        }

        /** The values as float32, converting from F16, BF16 and F64. */
        public float[] toFloats(String source, String name) {
            long n = elements();
            if (n > Integer.MAX_VALUE) {
                throw new JudgeInputException(source, name, "tensor of " + n + " elements is too large to load");
            }
            float[] out = new float[(int) n];
            ByteBuffer b = data.duplicate().order(ByteOrder.LITTLE_ENDIAN);
            switch (dtype) {
                case "F32" -> b.asFloatBuffer().get(out);
                case "F16" -> {
                    for (int i = 0; i < out.length; i++) {
                        out[i] = halfToFloat(b.getShort(i * 2));
                    }
                }
                case "BF16" -> {
                    for (int i = 0; i < out.length; i++) {
                        out[i] = Float.intBitsToFloat((b.getShort(i * 2) & 0xffff) << 16);
                    }
                }
                case "F64" -> {
                    for (int i = 0; i < out.length; i++) {
                        out[i] = (float) b.getDouble(i * 8);
                    }
                }
                default -> throw new JudgeInputException(source, name, "dtype " + dtype
                        + " is not a floating point type (expected F32, F16, BF16 or F64)");
            }
            return out;
        }

        public static Tensor ofFloats(float[] values, long... shape) {
            ByteBuffer b = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
            b.asFloatBuffer().put(values);
            return new Tensor("F32", shape, b);
        }
    }

    static int bytesPerElement(String dtype, String source, String name) {
        return switch (dtype) {
            case "F64", "I64", "U64" -> 8;
            case "F32", "I32", "U32" -> 4;
            case "F16", "BF16", "I16", "U16" -> 2;
            case "I8", "U8", "BOOL", "F8_E4M3", "F8_E5M2" -> 1;
            default -> throw new JudgeInputException(source, name, "unknown safetensors dtype '" + dtype + "'");
        };
    }

    /** IEEE 754 half precision to float (Float.float16ToFloat arrived only in Java 20). */
    static float halfToFloat(short h) {
        int bits = h & 0xffff;
        int sign = (bits & 0x8000) << 16;
        int exp = (bits >>> 10) & 0x1f;
        int mant = bits & 0x3ff;
        if (exp == 0x1f) {
            return Float.intBitsToFloat(sign | 0x7f800000 | (mant << 13));
        }
        if (exp == 0) {
            if (mant == 0) {
                return Float.intBitsToFloat(sign);
            }
            float v = mant / 1024f / 16384f; // 2^-14 * mant/2^10
            return sign != 0 ? -v : v;
        }
        return Float.intBitsToFloat(sign | ((exp + 112) << 23) | (mant << 13));
    }

    /** Reads every tensor of a file; each tensor's bytes are mapped from the file, not copied. */
    public static Map<String, Tensor> read(Path file) {
        String source = file.toString();
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = ch.size();
            if (size < 8) {
                throw new JudgeInputException(source, null, "not a safetensors file (only " + size + " bytes)");
            }
            ByteBuffer lenBuf = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            readFully(ch, lenBuf, 0);
            long headerLen = lenBuf.flip().getLong();
            if (headerLen <= 0 || headerLen > MAX_HEADER || 8 + headerLen > size) {
                throw new JudgeInputException(source, null, "not a safetensors file (header length " + headerLen
                        + " does not fit a file of " + size + " bytes)");
            }
            ByteBuffer hb = ByteBuffer.allocate((int) headerLen);
            readFully(ch, hb, 8);
            JsonNode header;
            try {
                header = JSON.readTree(new String(hb.array(), StandardCharsets.UTF_8));
            } catch (IOException e) {
                throw new JudgeInputException(source, null, "safetensors header is not valid JSON", e);
            }
            long dataStart = 8 + headerLen;
            long dataLen = size - dataStart;
            Map<String, Tensor> out = new LinkedHashMap<>();
            Iterator<Map.Entry<String, JsonNode>> it = header.fields();
            while (it.hasNext()) {
                Map.Entry<String, JsonNode> e = it.next();
                String name = e.getKey();
                if (name.equals("__metadata__")) {
                    continue;
                }
                JsonNode t = e.getValue();
                String dtype = t.path("dtype").asText();
                JsonNode shapeNode = t.path("shape");
                JsonNode offsets = t.path("data_offsets");
                if (!shapeNode.isArray() || !offsets.isArray() || offsets.size() != 2) {
                    throw new JudgeInputException(source, name, "header entry lacks shape or data_offsets");
                }
                long[] shape = new long[shapeNode.size()];
                long elements = 1;
                for (int i = 0; i < shape.length; i++) {
                    shape[i] = shapeNode.get(i).asLong();
                    elements *= shape[i];
                }
                long begin = offsets.get(0).asLong();
                long end = offsets.get(1).asLong();
                long expected = elements * bytesPerElement(dtype, source, name);
                if (begin < 0 || end > dataLen || end - begin != expected) {
                    throw new JudgeInputException(source, name, "data_offsets [" + begin + ", " + end
                            + "] do not hold a " + dtype + " tensor of shape " + Arrays.toString(shape)
                            + " inside " + dataLen + " bytes of data (truncated file?)");
                }
                ByteBuffer data = ch.map(FileChannel.MapMode.READ_ONLY, dataStart + begin, end - begin)
                        .order(ByteOrder.LITTLE_ENDIAN);
                out.put(name, new Tensor(dtype, shape, data));
            }
            return out;
        } catch (IOException e) {
            throw new JudgeInputException(source, null, "cannot read: " + e.getMessage(), e);
        }
    }

    private static void readFully(FileChannel ch, ByteBuffer buf, long pos) throws IOException {
        while (buf.hasRemaining()) {
            int n = ch.read(buf, pos + buf.position());
            if (n < 0) {
                throw new IOException("unexpected end of file");
            }
        }
    }

    /**
     * A tensor whose bytes are made when it is written: a file of many large tensors then holds one of them in memory
     * at a time, not a copy of all of them.
     */
    public record Lazy(String dtype, long[] shape, long bytes, Supplier<ByteBuffer> data) {
        public Tensor load() {
            return new Tensor(dtype, shape, data.get());
        }
    }

    /** Writes tensors in the given order, with {@code {"format": "pt"}} metadata. */
    public static void write(Path file, Map<String, Tensor> tensors) throws IOException {
        Map<String, Lazy> lazy = new LinkedHashMap<>();
        tensors.forEach((k, t) -> lazy.put(k, new Lazy(t.dtype(), t.shape(), t.data().remaining(), t::data)));
        writeLazily(file, lazy);
    }

    /** Writes tensors in the given order, making each one's bytes only when its turn comes. */
    public static void writeLazily(Path file, Map<String, Lazy> tensors) throws IOException {
        ObjectNode header = JsonNodeFactory.instance.objectNode();
        header.putObject("__metadata__").put("format", "pt");
        long offset = 0;
        for (Map.Entry<String, Lazy> e : tensors.entrySet()) {
            Lazy t = e.getValue();
            ObjectNode n = header.putObject(e.getKey());
            n.put("dtype", t.dtype());
            ArrayNode shape = n.putArray("shape");
            for (long d : t.shape()) {
                shape.add(d);
            }
            long len = t.bytes();
            n.putArray("data_offsets").add(offset).add(offset + len);
            offset += len;
        }
        byte[] hb = JSON.writeValueAsString(header).getBytes(StandardCharsets.UTF_8);
        int padded = (hb.length + 7) / 8 * 8;
        byte[] headerBytes = Arrays.copyOf(hb, padded);
        Arrays.fill(headerBytes, hb.length, padded, (byte) ' ');
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        try (OutputStream out = Files.newOutputStream(tmp)) {
            ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(padded);
            out.write(len.array());
            out.write(headerBytes);
            byte[] chunk = new byte[1 << 20];
            for (Map.Entry<String, Lazy> e : tensors.entrySet()) {
                ByteBuffer d = e.getValue().data().get().duplicate();
                if (d.remaining() != e.getValue().bytes()) {
                    throw new IllegalStateException(e.getKey() + ": " + d.remaining() + " bytes made, "
                            + e.getValue().bytes() + " announced");
                }
                while (d.hasRemaining()) {
                    int n = Math.min(chunk.length, d.remaining());
                    d.get(chunk, 0, n);
                    out.write(chunk, 0, n);
                }
            }
        }
        Files.move(tmp, file, java.nio.file.StandardCopyOption.REPLACE_EXISTING,
                java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    }
}
