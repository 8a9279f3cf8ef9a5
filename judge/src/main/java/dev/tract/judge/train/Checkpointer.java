package dev.tract.judge.train;

import ai.djl.ndarray.NDArray;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tract.judge.model.SafeTensors;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Training checkpoints in a folder: {@code step-000200/} holds the trainable weights and the optimizer moments
 * (safetensors), the trainer state (step, data cursor, counters) and a MANIFEST with the sha256 of each file.
 * A checkpoint is written under a temporary name and renamed when complete; {@code LATEST} is written last, so a
 * reader never sees half a checkpoint. Restoring verifies every digest.
 */
public final class Checkpointer {
    public static final String LATEST = "LATEST";
    public static final String MANIFEST = "MANIFEST.json";
    public static final String PARAMS = "params.safetensors";
    public static final String OPTIMIZER = "optimizer.safetensors";
    public static final String STATE = "trainer_state.json";
    private static final Logger LOG = LoggerFactory.getLogger(Checkpointer.class);
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private final Path root;
    private final int keep;

    /** What a checkpoint holds. */
    public record Restored(Path dir, TrainerState state, Map<String, float[]> params, Map<String, float[]> optimizer) {}

    public Checkpointer(Path root, int keep) {
        this.root = root;
        this.keep = keep;
    }

    public Path root() {
        return root;
    }

    /** {@code step-000200}: six digits at least, more past step 999,999; order names with {@link #BY_STEP}. */
    public static String name(int step) {
        return String.format("step-%06d", step);
    }

    private static final java.util.regex.Pattern NAME = java.util.regex.Pattern.compile("step-(\\d{6,})");

    /** Whether a folder name is a checkpoint's name. */
    public static boolean isName(String name) {
        return NAME.matcher(name).matches();
    }

    /** Checkpoint names in the order of their steps (a name with seven digits comes after one with six). */
    public static final Comparator<String> BY_STEP = Comparator.comparingLong((String n) -> {
        java.util.regex.Matcher m = NAME.matcher(n);
        return m.matches() ? Long.parseLong(m.group(1)) : -1;
    }).thenComparing(Comparator.naturalOrder());

    /** Writes a complete checkpoint, points LATEST at it and removes checkpoints beyond the newest {@code keep}. */
    public Path save(TrainerState state, Map<String, NDArray> params, Map<String, NDArray> optimizer)
            throws IOException {
        Files.createDirectories(root);
        String name = name(state.step());
        Path tmp = root.resolve(name + ".tmp-" + System.nanoTime());
        Files.createDirectories(tmp);
        SafeTensors.writeLazily(tmp.resolve(PARAMS), toTensors(params));
        SafeTensors.writeLazily(tmp.resolve(OPTIMIZER), toTensors(optimizer));
        JSON.writeValue(tmp.resolve(STATE).toFile(), state);
        ObjectNode manifest = JSON.createObjectNode();
        manifest.put("step", state.step());
        ObjectNode files = manifest.putObject("files");
        for (String f : List.of(PARAMS, OPTIMIZER, STATE)) {
            files.put(f, sha256(tmp.resolve(f)));
        }
        JSON.writeValue(tmp.resolve(MANIFEST).toFile(), manifest);
        Path target = root.resolve(name);
        if (Files.exists(target)) {
            deleteTree(target);
        }
        Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
        Path latestTmp = root.resolve(LATEST + ".tmp");
        Files.writeString(latestTmp, name + "\n", StandardCharsets.UTF_8);
        Files.move(latestTmp, root.resolve(LATEST), StandardCopyOption.REPLACE_EXISTING,
                StandardCopyOption.ATOMIC_MOVE);
        prune(name);
        return target;
    }

    /** Each array copied out when its turn to be written comes: one at a time in memory, not all of them. */
    private static Map<String, SafeTensors.Lazy> toTensors(Map<String, NDArray> arrays) {
        Map<String, SafeTensors.Lazy> out = new LinkedHashMap<>();
        arrays.forEach((k, a) -> out.put(k, dev.tract.judge.model.Checkpoints.lazy(a)));
        return out;
    }

    private void prune(String latest) throws IOException {
        List<Path> all = checkpoints();
        int kept = 0;
        for (Path p : all) {
            if (p.getFileName().toString().equals(latest) || kept < keep) {
                kept++;
                continue;
            }
            deleteTree(p);
        }
        try (Stream<Path> s = Files.list(root)) {
            for (Path p : s.filter(p -> p.getFileName().toString().contains(".tmp-")).toList()) {
                deleteTree(p);
            }
        }
    }

    /** Complete checkpoints, newest first. */
    public List<Path> checkpoints() throws IOException {
        if (!Files.isDirectory(root)) {
            return List.of();
        }
        try (Stream<Path> s = Files.list(root)) {
            return s.filter(p -> isName(p.getFileName().toString()) && Files.isDirectory(p))
                    .sorted(Comparator.comparing((Path p) -> p.getFileName().toString(), BY_STEP).reversed()).toList();
        }
    }

    /** The checkpoint LATEST points at, or empty. */
    public Optional<Path> latest() throws IOException {
        Path l = root.resolve(LATEST);
        if (!Files.isRegularFile(l)) {
            return Optional.empty();
        }
        Path p = root.resolve(Files.readString(l, StandardCharsets.UTF_8).strip());
        return Files.isDirectory(p) ? Optional.of(p) : Optional.empty();
    }

    /**
     * Restores the checkpoint LATEST points at; if it is corrupt, the newest older checkpoint that verifies (each
     * corrupt one is logged). Empty when there is no usable checkpoint.
     */
    public Optional<Restored> latestValid() throws IOException {
        List<Path> candidates = new ArrayList<>();
        latest().ifPresent(candidates::add);
        for (Path p : checkpoints()) {
            if (!candidates.contains(p)) {
                candidates.add(p);
            }
        }
        for (Path p : candidates) {
            try {
                return Optional.of(restore(p));
            } catch (CorruptCheckpointException e) {
                LOG.warn("skipping corrupt checkpoint: {}", e.getMessage());
            }
        }
        return Optional.empty();
    }

    /** Reads one checkpoint after verifying every file against its MANIFEST. */
    public Restored restore(Path dir) throws IOException {
        Path manifestFile = dir.resolve(MANIFEST);
        if (!Files.isRegularFile(manifestFile)) {
            throw new CorruptCheckpointException(dir + ": no " + MANIFEST + " (incomplete checkpoint)");
        }
        JsonNode manifest;
        try {
            manifest = JSON.readTree(manifestFile.toFile());
        } catch (IOException e) {
            throw new CorruptCheckpointException(manifestFile + ": unreadable manifest: " + e.getMessage());
        }
        Iterator<Map.Entry<String, JsonNode>> files = manifest.path("files").fields();
        int checked = 0;
        while (files.hasNext()) {
            Map.Entry<String, JsonNode> f = files.next();
            Path file = dir.resolve(f.getKey());
            if (!Files.isRegularFile(file)) {
                throw new CorruptCheckpointException(file + ": missing (listed in " + MANIFEST + ")");
            }
            String actual = sha256(file);
            if (!actual.equals(f.getValue().asText())) {
                throw new CorruptCheckpointException(file + ": sha256 " + actual + " does not match "
                        + f.getValue().asText() + " in " + MANIFEST + " (the file is corrupt)");
            }
            checked++;
        }
        if (checked < 3) {
            throw new CorruptCheckpointException(manifestFile + ": lists " + checked + " of 3 files");
        }
        TrainerState state = JSON.readValue(dir.resolve(STATE).toFile(), TrainerState.class);
        return new Restored(dir, state, floats(dir.resolve(PARAMS)), floats(dir.resolve(OPTIMIZER)));
    }

    private static Map<String, float[]> floats(Path file) {
        Map<String, float[]> out = new LinkedHashMap<>();
        SafeTensors.read(file).forEach((k, t) -> out.put(k, t.toFloats(file.toString(), k)));
        return out;
    }

    public static String sha256(Path file) {
        try (InputStream in = new DigestInputStream(Files.newInputStream(file), MessageDigest.getInstance("SHA-256"))) {
            byte[] buf = new byte[1 << 16];
            while (in.read(buf) >= 0) {
                // digesting
            }
            return HexFormat.of().formatHex(((DigestInputStream) in).getMessageDigest().digest());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Deletes a file or a folder with everything in it; nothing when it does not exist. */
    public static void deleteTree(Path p) throws IOException {
        if (!Files.exists(p)) {
            return;
        }
        try (Stream<Path> s = Files.walk(p)) {
            for (Path q : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(q);
            }
        }
    }
}
