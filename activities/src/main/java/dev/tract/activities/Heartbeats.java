package dev.tract.activities;

import io.temporal.activity.ActivityExecutionContext;
import io.temporal.client.ActivityCompletionException;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Heartbeats an activity from a background thread every few seconds with the newest details, so that long calls
 * (a checkpoint upload, a slow step) never miss the heartbeat timeout. Cancellation of the activity, which
 * Temporal delivers through the heartbeat, sets the stop flag.
 */
final class Heartbeats implements AutoCloseable, Lease {
    private static final Logger LOG = LoggerFactory.getLogger(Heartbeats.class);
    private final ActivityExecutionContext context;
    private final AtomicReference<Object> details = new AtomicReference<>();
    private final AtomicReference<ActivityCompletionException> cancellation = new AtomicReference<>();
    private final AtomicBoolean stop;
    private final Thread thread;
    private volatile boolean running = true;
    private volatile long lastProgressNanos = System.nanoTime();
    /** 0 while not watching; otherwise the longest time without progress before the attempt is given up. */
    private volatile long stallBoundNanos;
    private volatile boolean stalled;

    Heartbeats(ActivityExecutionContext context, Duration every, AtomicBoolean stop, Object initial) {
        this.context = context;
        this.stop = stop;
        details.set(initial);
        thread = new Thread(() -> loop(every), "heartbeat-" + context.getInfo().getActivityId());
        thread.setDaemon(true);
        thread.start();
    }

    private void loop(Duration every) {
        while (running) {
            checkStall();
            beat();
            try {
                Thread.sleep(every.toMillis());
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    /**
     * A heartbeat proves that the process lives, not that work moves: once watching, when no progress is marked
     * within the bound the heartbeats stop, so that Temporal times the attempt out after the heartbeat timeout and
     * retries it (on any worker), resuming from the newest checkpoint. The stop flag is set too, so that a step
     * that returns after all ends the attempt at the next step.
     */
    private void checkStall() {
        long bound = stallBoundNanos;
        if (bound == 0 || stalled || System.nanoTime() - lastProgressNanos <= bound) {
            return;
        }
        stalled = true;
        stop.set(true);
        // the attempt gave itself up: another one takes over, so should the step ever return, it writes nothing
        leaseLost = true;
        LOG.error("activity {}: no progress in {} s (the bound from the measured step time); heartbeats stop so that "
                + "the attempt times out and is retried from the newest checkpoint", context.getInfo().getActivityId(),
                String.format("%.0f", (System.nanoTime() - lastProgressNanos) / 1e9));
    }

    private volatile long failingSince;
    private volatile boolean leaseLost;

    private void loseLease(String why) {
        if (!leaseLost) {
            LOG.warn("activity {} lost its lease: {}; it stops and writes nothing more",
                    context.getInfo().getActivityId(), why);
        }
        leaseLost = true;
        stop.set(true);
    }

    /**
     * Whether this attempt may no longer write what other attempts read ({@code LATEST}, the stage's model, its
     * success marker): the server rejected its heartbeat, or heartbeats failed for longer than the timeout, after
     * which another attempt may be running. Cancellation does not lose the lease: a cancelled stage checkpoints.
     */
    @Override
    public boolean leaseLost() {
        return leaseLost;
    }

    /** Marks progress (a step completed). */
    void progressed() {
        lastProgressNanos = System.nanoTime();
    }

    /** From now on, gives the attempt up when no progress is marked within {@code bound}. */
    void watch(Duration bound) {
        progressed();
        stallBoundNanos = Math.max(1, bound.toNanos());
    }

    /** Stops watching (during work with no steps, such as a checkpoint upload that retries for minutes). */
    void unwatch() {
        stallBoundNanos = 0;
    }

    /** Whether the attempt was given up for want of progress. */
    boolean stalled() {
        return stalled;
    }

    /** Heartbeats now with the newest details. */
    @Override
    public synchronized void beat() {
        if (cancellation.get() != null || stalled) {
            return;
        }
        try {
            context.heartbeat(details.get());
            failingSince = 0;
        } catch (ActivityCompletionException e) {
            if (e instanceof io.temporal.client.ActivityNotExistsException) {
                // the server no longer knows this attempt: it timed out, or another attempt completed the task
                loseLease("the server no longer knows this attempt (" + e.getMessage() + ")");
            } else {
                LOG.info("activity {} cancelled: stopping at the next step", context.getInfo().getActivityId());
            }
            cancellation.set(e);
            stop.set(true);
        } catch (RuntimeException e) {
            long now = System.nanoTime();
            if (failingSince == 0) {
                failingSince = now;
            }
            Duration timeout = context.getInfo().getHeartbeatTimeout();
            LOG.warn("heartbeat of activity {} failed: {}", context.getInfo().getActivityId(), e.getMessage());
            if (timeout != null && !timeout.isZero() && now - failingSince > timeout.toNanos()) {
                // for longer than the heartbeat timeout: the server has given this attempt up and started another
                loseLease("heartbeats have failed for " + (now - failingSince) / 1_000_000_000L + " s, longer than "
                        + "the heartbeat timeout");
            }
        }
    }

    void details(Object d) {
        details.set(d);
    }

    /** The cancellation delivered through a heartbeat, or null. */
    ActivityCompletionException cancellation() {
        return cancellation.get();
    }

    @Override
    public void close() {
        running = false;
        thread.interrupt();
    }
}
