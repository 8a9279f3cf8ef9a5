package dev.tract.judge.runtime;

import ai.djl.engine.Engine;
import ai.djl.pytorch.jni.JniUtils;
import dev.tract.judge.JudgeInputException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Pins the engine's intra-op thread count once per process, before the first model is built. Floating-point sums
 * split over threads depend on how many there are, so training reproduces itself bit for bit (a resumed run equals
 * an uninterrupted one) only with the same count in every process. Left alone, libtorch sizes its thread pool per
 * calling thread and lets MKL choose fewer threads per call (MKL_DYNAMIC); setting the count explicitly fixes it for
 * every thread and turns MKL's dynamic choice off.
 *
 * <p>The count is {@code TRACT_TORCH_THREADS} (or the system property {@code tract.torch_threads}), else DJL's
 * {@code ai.djl.pytorch.num_threads}, else the engine's own default (the machine's cores).
 */
public final class EngineThreads {
    private static final Logger LOG = LoggerFactory.getLogger(EngineThreads.class);

    /** Environment variable naming the intra-op thread count. */
    public static final String ENV = "TRACT_TORCH_THREADS";
    /** System property naming the intra-op thread count (wins over the environment). */
    public static final String PROPERTY = "tract.torch_threads";

    private static volatile int pinned;
    /** Whether the pinned count has been set in this thread (libtorch keeps it per thread). */
    private static final ThreadLocal<Boolean> APPLIED = ThreadLocal.withInitial(() -> false);
    private static volatile boolean explicit;

    private EngineThreads() {}

    /**
     * Pins the thread count if this process has not yet, and sets it in the calling thread if it was not set there
     * (a thread that first uses the engine while another runs {@link #inThisThread} would otherwise start with that
     * one's count); returns it.
     */
    public static int pin() {
        if (pinned > 0) {
            if (explicit && !APPLIED.get()) {
                JniUtils.setNumThreads(pinned);
                APPLIED.set(true);
            }
            return pinned;
        }
        synchronized (EngineThreads.class) {
            if (pinned == 0) {
                if (!"PyTorch".equals(Engine.getInstance().getEngineName())) {
                    pinned = Runtime.getRuntime().availableProcessors();
                    return pinned;
                }
                int n = requested();
                if (n < 0) {
                    pinned = JniUtils.getNumThreads();
                    LOG.info("engine threads left to the engine ({}): training results may depend on the load",
                            pinned);
                    return pinned;
                }
                if (n == 0) {
                    n = JniUtils.getNumThreads();
                }
                JniUtils.setNumThreads(n);
                APPLIED.set(true);
                explicit = true;
                pinned = n;
                for (String dynamic : new String[] {"OMP_DYNAMIC", "MKL_DYNAMIC"}) {
                    if ("true".equalsIgnoreCase(System.getenv(dynamic))) {
                        LOG.warn("{}=true lets the engine use fewer threads when the machine is busy: training "
                                + "results may then differ from run to run", dynamic);
                    }
                }
                LOG.debug("engine intra-op threads pinned to {}", n);
            }
            return pinned;
        }
    }

    /**
     * Runs {@code work} with {@code threads} intra-op threads in the calling thread only (decode streams that share
     * the cores between them), then sets the pinned count back.
     */
    public static void inThisThread(int threads, Runnable work) {
        int pinnedCount = pin();
        if (!explicit || threads == pinnedCount) {
            work.run();
            return;
        }
        JniUtils.setNumThreads(threads);
        try {
            work.run();
        } finally {
            JniUtils.setNumThreads(pinnedCount);
            APPLIED.set(true);
        }
    }

    /** The pinned count, or 0 before {@link #pin()}. */
    public static int pinned() {
        return pinned;
    }

    private static int requested() {
        String v = System.getProperty(PROPERTY, System.getenv(ENV));
        String source = System.getProperty(PROPERTY) != null ? PROPERTY : ENV;
        if (v == null || v.isBlank()) {
            v = System.getProperty("ai.djl.pytorch.num_threads");
            source = "ai.djl.pytorch.num_threads";
        }
        if (v == null || v.isBlank()) {
            return 0;
        }
        if (v.trim().equalsIgnoreCase("auto")) {
            return -1;
        }
        try {
            int n = Integer.parseInt(v.trim());
            if (n > 0) {
                return n;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new JudgeInputException(source, "threads", "'" + v + "' is not a positive whole number");
    }
}
