package dev.tract.cli;

import java.io.PrintWriter;

/** A one-line progress bar on a terminal (standard error), plain periodic lines otherwise. */
final class Progress {
    private final PrintWriter err;
    private final boolean terminal;
    private final String label;
    private long lastPlain;

    Progress(PrintWriter err, String label) {
        this.err = err;
        this.terminal = System.console() != null;
        this.label = label;
    }

    void update(int done, int total, String detail) {
        if (terminal) {
            int width = 30;
            int filled = total == 0 ? width : (int) ((long) width * done / total);
            err.printf("\r%s [%s%s] %d/%d %s", label, "#".repeat(filled), ".".repeat(width - filled), done, total,
                    detail);
            if (done >= total) {
                err.println();
            }
            err.flush();
        } else {
            long now = System.currentTimeMillis();
            if (done >= total || now - lastPlain >= 10_000) {
                lastPlain = now;
                err.printf("%s %d/%d %s%n", label, done, total, detail);
                err.flush();
            }
        }
    }
}
