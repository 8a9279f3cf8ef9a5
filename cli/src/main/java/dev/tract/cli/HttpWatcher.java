package dev.tract.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tract.workflows.Values;
import java.io.PrintWriter;

/** Follows a pipeline through the API until it is no longer running. */
final class HttpWatcher {
    private final ApiClient client;
    private final PrintWriter err;
    private final boolean terminal = System.console() != null;

    HttpWatcher(ApiClient client, PrintWriter err) {
        this.client = client;
        this.err = err;
    }

    JsonNode follow(String id) throws Exception {
        String last = "";
        long printed = 0;
        while (true) {
            JsonNode p = client.get("/api/v1/pipelines/" + ApiClient.encode(id));
            if (!"RUNNING".equals(p.path("state").asText())) {
                if (terminal) {
                    err.println();
                }
                err.flush();
                return p;
            }
            JsonNode progress = p.get("progress");
            if (progress != null && !progress.isNull()) {
                Values.Progress v = Json.MAPPER.treeToValue(progress, Values.Progress.class);
                String line = PipelineWatcher.describe(id, v);
                long now = System.currentTimeMillis();
                if (terminal) {
                    err.print("\r" + line + "   ");
                } else if (!line.equals(last) && now - printed > 10_000) {
                    err.println(line);
                    printed = now;
                }
                err.flush();
                last = line;
            }
            Thread.sleep(1000);
        }
    }
}
