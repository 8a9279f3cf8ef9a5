package dev.tract.activities;

import dev.tract.activities.artifacts.ArtifactStore;
import dev.tract.workflows.Values;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * Shard manifests: a fanned-out stage lists the files its shards wrote in parts under one folder of the artifact
 * store ({@code part-000000.txt}, one URI per line, a part per workflow run), and passes the folder on as
 * {@code manifest:<folder URI>}, so no payload grows with the data.
 */
final class Manifests {
    private Manifests() {}

    static String write(ArtifactStore store, Values.ManifestPart part) throws IOException {
        StringBuilder sb = new StringBuilder();
        part.uris().forEach(u -> sb.append(u).append('\n'));
        store.putString(part.key() + String.format("/part-%06d.txt", part.part()), sb.toString());
        return Values.MANIFEST + store.uri(part.key());
    }

    /** The URIs, with each manifest reference replaced by the files it lists, in order. */
    static List<String> expand(ArtifactStore store, List<String> uris) throws IOException {
        List<String> out = new ArrayList<>();
        for (String u : uris) {
            if (!u.startsWith(Values.MANIFEST)) {
                out.add(u);
                continue;
            }
            String folder = u.substring(Values.MANIFEST.length());
            String key = store.keyOf(folder).orElseThrow(() -> new IOException("manifest " + folder
                    + " is not under the artifact root " + store.root()));
            List<String> parts = store.list(key).stream().filter(k -> k.matches(".*/part-\\d{6}\\.txt")).toList();
            if (parts.isEmpty()) {
                throw new IOException("manifest " + folder + " has no parts");
            }
            for (String p : parts) {
                store.getString(p).orElseThrow().lines().filter(l -> !l.isBlank()).forEach(out::add);
            }
        }
        return out;
    }
}
