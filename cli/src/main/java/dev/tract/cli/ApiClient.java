package dev.tract.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tract.judge.JudgeInputException;
import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

/**
 * The API seen from the command line. Failures become one-line messages: an unreachable API or a server error
 * (exit 1), a rejected token, an unknown pipeline or an invalid spec (exit 2).
 */
final class ApiClient {
    private final String base;
    private final String token;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    ApiClient(String base, String token) {
        this.base = base.endsWith("/") ? base.substring(0, base.length() - 1) : base;
        this.token = token;
    }

    /** The API could not be reached or failed: exit code 1. */
    static final class Unavailable extends RuntimeException {
        Unavailable(String message) {
            super(message);
        }
    }

    JsonNode get(String path) {
        return Json.parse(send(request(path).GET(), path));
    }

    String getText(String path) {
        return send(request(path).GET(), path);
    }

    JsonNode post(String path, String body, String type) {
        return Json.parse(send(request(path).header("Content-Type", type)
                .POST(HttpRequest.BodyPublishers.ofString(body)), path));
    }

    static String encode(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8);
    }

    private HttpRequest.Builder request(String path) {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(60));
        if (token != null && !token.isBlank()) {
            b.header("Authorization", "Bearer " + token);
        }
        return b;
    }

    private String send(HttpRequest.Builder req, String path) {
        HttpResponse<String> r;
        try {
            r = http.send(req.build(), HttpResponse.BodyHandlers.ofString());
        } catch (ConnectException e) {
            throw new Unavailable("the API at " + base + " is unreachable (is `tract dev` or `tract server` running? "
                    + "set --api or TRACT_API_URL)");
        } catch (IOException e) {
            throw new Unavailable("the API at " + base + " failed: " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new Unavailable("interrupted");
        }
        int s = r.statusCode();
        if (s / 100 == 2) {
            return r.body();
        }
        String message = message(r.body());
        switch (s) {
            case 401 -> throw new JudgeInputException("--token", "token", token == null || token.isBlank()
                    ? "the API needs a token (--token or TRACT_TOKEN)" : "the API rejected the token");
            case 404 -> throw new JudgeInputException(base + path, null, message);
            case 409, 413 -> throw new JudgeInputException(base + path, null, message);
            case 422 -> {
                JsonNode body = Json.parse(r.body());
                StringBuilder sb = new StringBuilder(message);
                for (JsonNode e : body.path("errors")) {
                    sb.append("; ").append(e.path("field").asText()).append(": ").append(e.path("message").asText());
                }
                throw new JudgeInputException("spec", null, sb.toString());
            }
            default -> throw new Unavailable("the API answered " + s + ": " + message);
        }
    }

    private static String message(String body) {
        try {
            JsonNode n = Json.MAPPER.readTree(body);
            return n.path("message").asText(body);
        } catch (IOException e) {
            return body;
        }
    }
}
