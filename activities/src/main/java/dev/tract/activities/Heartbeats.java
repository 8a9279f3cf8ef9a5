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
final class Heartbeats implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Heartbeats.class);
    private final ActivityExecutionContext context;
    private final AtomicReference<Object> details = new AtomicReference<>();
    private final AtomicReference<ActivityCompletionException> cancellation = new AtomicReference<>();
    private final AtomicBoolean stop;
    private final Thread thread;
    private volatile boolean running = true;

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
            beat();
            try {
                Thread.sleep(every.toMillis());
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    /** Heartbeats now with the newest details. */
    synchronized void beat() {
        if (cancellation.get() != null) {
            return;
        }
        try {
            context.heartbeat(details.get());
        } catch (ActivityCompletionException e) {
            LOG.info("activity {} cancelled: stopping at the next step", context.getInfo().getActivityId());
            cancellation.set(e);
            stop.set(true);
        } catch (RuntimeException e) {
            LOG.debug("heartbeat failed", e);
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
