package dev.tract.worker;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tract.activities.ActivityEnvironment;
import org.junit.jupiter.api.Test;

/** TRACT_CHAOS halts a worker on purpose: honoured only by a worker started with --allow-fault-injection. */
class FaultInjectionGateTest {
    @Test
    void chaosIsIgnoredUnlessTheWorkerWasStartedToAllowIt() {
        String chaos = "halt-after-step=stage1:1";
        ActivityEnvironment.Faults ignored = TractWorker.faults(chaos, false);
        assertThat(ignored).isSameAs(ActivityEnvironment.Faults.NONE);
        ignored.afterStep("stage1", 1, 5); // would halt this JVM if honoured
        assertThat(TractWorker.faults(chaos, true)).isInstanceOf(ChaosFaults.class);
        assertThat(TractWorker.faults(null, true)).isSameAs(ActivityEnvironment.Faults.NONE);
    }
}
