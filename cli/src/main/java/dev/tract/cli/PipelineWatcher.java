package dev.tract.cli;

import dev.tract.workflows.Pipelines;
import dev.tract.workflows.Values;
import io.temporal.client.WorkflowClient;
import java.io.PrintWriter;

/** Follows a running pipeline through its progress query, printing a line per change (a live bar on a terminal). */
final class PipelineWatcher {
    private final WorkflowClient client;
    private final PrintWriter err;
    private final boolean terminal = System.console() != null;

    PipelineWatcher(WorkflowClient client, PrintWriter err) {
        this.client = client;
        this.err = err;
    }

    /** Polls until the pipeline ends; returns its result (or throws the workflow's failure). */
    Values.PipelineResult follow(String pipelineId) throws InterruptedException {
        Thread poller = new Thread(() -> poll(pipelineId), "progress-" + pipelineId);
        poller.setDaemon(true);
        poller.start();
        try {
            return Pipelines.result(client, pipelineId);
        } finally {
            poller.interrupt();
            poller.join(2000);
            if (terminal) {
                err.println();
            }
            err.flush();
        }
    }

    private void poll(String pipelineId) {
        String last = "";
        long lastPrinted = 0;
        while (!Thread.currentThread().isInterrupted()) {
            try {
                Values.Progress p = Pipelines.progress(client, pipelineId);
                String line = describe(pipelineId, p);
                long now = System.currentTimeMillis();
                if (terminal) {
                    err.print("\r" + line + "   ");
                    err.flush();
                } else if (!line.equals(last) && (now - lastPrinted > 10_000 || !stageOf(line).equals(stageOf(last)))) {
                    err.println(line);
                    err.flush();
                    lastPrinted = now;
                }
                last = line;
                Thread.sleep(1000);
            } catch (InterruptedException e) {
                return;
            } catch (RuntimeException e) {
                try {
                    Thread.sleep(1000);
                } catch (InterruptedException ie) {
                    return;
                }
            }
        }
    }

    private static String stageOf(String line) {
        int i = line.indexOf(" stage ");
        return i < 0 ? "" : line.substring(i, Math.min(line.length(), line.indexOf(' ', i + 7) < 0 ? line.length()
                : line.indexOf(' ', i + 7)));
    }

    static String describe(String id, Values.Progress p) {
        StringBuilder sb = new StringBuilder(id).append(" stage ").append(p.stage());
        if (p.totalSteps() > 0) {
            int width = 20;
            int filled = (int) ((long) width * p.step() / p.totalSteps());
            sb.append(" [").append("#".repeat(filled)).append(".".repeat(width - filled)).append("] step ")
                    .append(p.step()).append('/').append(p.totalSteps());
            if (p.loss() != null) {
                sb.append(String.format(" loss %.3f", p.loss()));
            }
        } else if (p.shardsTotal() > 0) {
            sb.append(" shards ").append(p.shardsDone()).append('/').append(p.shardsTotal());
        }
        sb.append(String.format(" elapsed %.0fs", p.elapsedSeconds()));
        if (p.remainingSeconds() != null) {
            sb.append(String.format(" (stage ~%.0fs left)", p.remainingSeconds()));
        }
        if (p.resumes() > 0) {
            sb.append(" resumes ").append(p.resumes());
        }
        if (p.waiting() != null) {
            sb.append(" -- ").append(p.waiting());
        }
        return sb.toString();
    }
}
