package dev.tract.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** The bench's reading of libtorch's profiler trace (Chrome trace events, times in microseconds). */
class EngineProfileTest {
    private static String event(String name, double ts, double dur) {
        return "{\"name\": \"" + name + "\", \"ph\": \"X\", \"ts\": " + ts + ", \"dur\": " + dur
                + ", \"tid\": 1, \"pid\": \"CPU Functions\", \"args\": {}}";
    }

    @Test
    void countsCallsFromJavaOperationsInsideTheProgramAndMatrixProductKernels() throws Exception {
        String trace = "[" + String.join(",\n",
                // a call from Java: linear -> matmul -> mm (only the kernel's 300 us count as a product)
                event("aten::linear", 0, 400), event("aten::matmul", 10, 380), event("aten::mm", 20, 300),
                event("aten::t", 330, 5),
                // another call from Java
                event("aten::add", 500, 50),
                // the one-call program: forward > tract::llama_inference > its operations
                event("forward", 1000, 1000), event("tract::llama_inference", 1010, 980),
                event("aten::mul", 1020, 30), event("aten::linear", 1100, 500), event("aten::mm", 1110, 400),
                event("aten::bmm", 1700, 100)) + "]";
        EngineProfile p = EngineProfile.read(trace.getBytes(StandardCharsets.UTF_8));
        assertThat(p.callsFromJava()).isEqualTo(3);
        assertThat(p.insideProgram()).isEqualTo(3);
        assertThat(p.matmulMs()).isCloseTo(0.8, within(1e-9));
        assertThat(p.spanMs()).isCloseTo(2.0, within(1e-9));
        EngineProfile perStep = p.minus(new EngineProfile(1, 1, 0.2, 0.5), 2);
        assertThat(perStep.callsFromJava()).isEqualTo(1);
        assertThat(perStep.matmulMs()).isCloseTo(0.3, within(1e-9));
    }
}
