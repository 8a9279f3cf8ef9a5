package dev.tract.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.PrintWriter;
import java.io.StringWriter;

/** One in-process run of the command line, with what it printed. */
record CliRun(int exitCode, String out, String err) {
    static CliRun of(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = TractCli.run(new PrintWriter(out, true), new PrintWriter(err, true), args);
        return new CliRun(code, out.toString(), err.toString());
    }

    JsonNode json() {
        if (out.isBlank()) {
            throw new AssertionError("no standard output (exit code " + exitCode() + "): " + err());
        }
        try {
            return Json.MAPPER.readTree(out);
        } catch (Exception e) {
            throw new AssertionError("standard output is not one JSON object: " + out, e);
        }
    }
}
