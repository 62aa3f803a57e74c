package dev.layerfs.image.store;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.FileOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.stream.Stream;

/**
 * What {@code image mount} remembers about a mount, in {@code mounts/ID/mount.json} (ID: from the mount point's
 * path): the image, how many of its layers, and the writable layer's directories, so that {@code image diff} and
 * {@code image commit} can find them from the mount point. An ephemeral mount's daemon makes its temporary upper
 * layer in {@code mounts/ID/tmp} (the launcher's TMPDIR) and deletes it at unmount. A record may name the process
 * that made it, where that process makes and serves the mount itself (pid and start time): the record is then live
 * while the mount is there in that process's mount namespace, which need not be this one. A record whose mount
 * point is a layerfs mount in neither is stale and removed by {@link #live}.
 */
public final class MountRecords {
    /**
     * A recorded mount. {@code upperDir} empty: read-only, or ephemeral (then found below {@code tmpDir}).
     * {@code config} and {@code diffIds} (its layers, base first) are empty in a record written before they were
     * recorded: then the manifest says. {@code maker}: the process that made the record and the mount, where it
     * names one.
     */
    public record Record(Path mountPoint, Digest manifest, int layers, Optional<Path> upperDir, boolean ephemeral,
                         Path dir, Optional<Digest> config, List<Digest> diffIds, Optional<Maker> maker) {
        public Path tmpDir() {
            return dir.resolve("tmp");
        }

        /** The writable layer of the mount, if it has one. */
        public Optional<Path> upper() throws IOException {
            if (upperDir.isPresent() || !ephemeral) {
                return upperDir;
            }
            try (Stream<Path> s = Files.list(tmpDir())) {
                return s.filter(p -> p.getFileName().toString().startsWith("layerfs-ephemeral-"))
                        .map(p -> p.resolve("upper")).filter(Files::isDirectory).findFirst();
            }
        }
    }

    /**
     * A process by its pid and start, which together name it across pid reuse: the start in clock ticks after boot
     * ({@link Processes#startTicks}), or, in a record written before those were recorded, in epoch milliseconds
     * as ProcessHandle gives it ({@code ticks} false).
     */
    public record Maker(long pid, long start, boolean ticks) {
        /** Whether that process still runs. */
        boolean running() {
            if (ticks) {
                OptionalLong now = Processes.startTicks(pid);
                return now.isPresent() && now.getAsLong() == start;
            }
            return ProcessHandle.of(pid).flatMap(p -> p.info().startInstant()).map(i -> i.toEpochMilli() == start)
                    .orElse(false);
        }
    }

    private final LayerStore store;

    public MountRecords(LayerStore store) {
        this.store = store;
    }

    public Path dirFor(Path mountPoint) {
        String id = Digest.fromBytes(Sha256.of(mountPoint.toString().getBytes(StandardCharsets.UTF_8))).hex()
                .substring(0, 16);
        return store.mountsDir().resolve(id);
    }

    /**
     * Starts a record (its directory, with tmp/ for an ephemeral layer) before the mount is made; {@code
     * byThisProcess}: naming this process as the one that makes and serves the mount.
     */
    public Record create(Path mountPoint, Digest manifest, Digest config, List<Digest> diffIds,
                         Optional<Path> upperDir, boolean ephemeral, boolean byThisProcess) throws IOException {
        Path dir = dirFor(mountPoint);
        clear(dir);
        try {
            Files.createDirectory(dir);
            Files.createDirectory(dir.resolve("tmp"));
        } catch (FileAlreadyExistsException e) {
            Files.createDirectories(dir.resolve("tmp"));   // made meanwhile, by a mount of the same mount point
        }
        Optional<Maker> made = Optional.empty();
        if (byThisProcess) {
            long pid = Processes.self();
            OptionalLong start = Processes.startTicks(pid);
            if (start.isPresent()) {
                made = Optional.of(new Maker(pid, start.getAsLong(), true));
            }
        }
        // a FileOutputStream: Files.write's channel cost the image mount 1.3-1.5 ms of CPU time, this 0.4-0.6
        try (FileOutputStream out = new FileOutputStream(dir.resolve("mount.json").toFile())) {
            out.write(json(mountPoint, manifest, config, diffIds, upperDir, ephemeral, made));
        }
        return new Record(mountPoint, manifest, diffIds.size(), upperDir, ephemeral, dir, Optional.of(config),
                List.copyOf(diffIds), made);
    }

    /**
     * Deletes an earlier record in {@code dir}: its mount.json and empty tmp/ (their daemon deleted what it made
     * there) one by one, anything else by walking the tree.
     */
    private static void clear(Path dir) throws IOException {
        try {
            Files.deleteIfExists(dir.resolve("mount.json"));
            Files.deleteIfExists(dir.resolve("tmp"));
            Files.deleteIfExists(dir);
        } catch (DirectoryNotEmptyException e) {
            LayerStore.deleteTree(dir);
        }
    }

    /**
     * A record's mount.json, written here rather than with Jackson, whose classes an image mount would otherwise
     * load for this alone (some 5 ms of CPU time in the mount's own JVM); read back with Jackson ({@link #read}).
     */
    private static byte[] json(Path mountPoint, Digest manifest, Digest config, List<Digest> diffIds,
                               Optional<Path> upperDir, boolean ephemeral, Optional<Maker> maker) {
        StringBuilder sb = new StringBuilder("{\"mountPoint\":");
        string(sb, mountPoint.toString());
        sb.append(",\"manifest\":\"").append(manifest).append("\",\"config\":\"").append(config)
                .append("\",\"layers\":").append(diffIds.size()).append(",\"diffIds\":[");
        for (int i = 0; i < diffIds.size(); i++) {
            sb.append(i == 0 ? "\"" : ",\"").append(diffIds.get(i)).append('"');
        }
        sb.append(']');
        if (upperDir.isPresent()) {
            sb.append(",\"upperDir\":");
            string(sb, upperDir.get().toString());
        }
        sb.append(",\"ephemeral\":").append(ephemeral);
        if (maker.isPresent()) {
            sb.append(",\"pid\":").append(maker.get().pid()).append(",\"pidStartTicks\":").append(maker.get().start());
        }
        return sb.append('}').toString().getBytes(StandardCharsets.UTF_8);
    }

    /** A JSON string: quotes, backslashes and control characters escaped, everything else as it is. */
    private static void string(StringBuilder sb, String s) {
        sb.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '"' || c == '\\') {
                sb.append('\\').append(c);
            } else if (c < 0x20) {
                sb.append("\\u00").append(Character.forDigit(c >> 4, 16)).append(Character.forDigit(c & 15, 16));
            } else {
                sb.append(c);
            }
        }
        sb.append('"');
    }

    /** The record of a live layerfs mount at {@code mountPoint}. */
    public Optional<Record> find(Path mountPoint) throws IOException {
        Path dir = dirFor(mountPoint);
        // a record outlives its mount for a while (see live): the mount table first, the record's JSON only then
        if (!Files.exists(dir.resolve("mount.json")) || !ProcMounts.layerfsMountPoints().contains(mountPoint)) {
            return Optional.empty();
        }
        Optional<Record> r = read(dir);
        return r.isPresent() && r.get().mountPoint().equals(mountPoint) ? r : Optional.empty();
    }

    /**
     * The records whose mount is still there. The others are deleted (their daemons deleted their ephemeral
     * layers), once they are a few minutes old: a younger one may belong to a mount that is still starting.
     */
    public List<Record> live() throws IOException {
        List<Path> mounted = ProcMounts.layerfsMountPoints();
        List<Record> out = new ArrayList<>();
        try (Stream<Path> s = Files.list(store.mountsDir())) {
            for (Path dir : s.toList()) {
                Optional<Record> r = read(dir);
                if (r.isPresent() && (mounted.contains(r.get().mountPoint()) || mountedByMaker(r.get()))) {
                    out.add(r.get());
                } else if (dir.getFileName().toString().matches("[0-9a-f]{16}") && olderThanMinutes(dir, 3)) {
                    LayerStore.deleteTree(dir);
                }
            }
        }
        return out;
    }

    /**
     * Whether the process a record names still runs (the same one: the pid not reused) and its mount namespace has
     * the record's mount point as a layerfs mount.
     */
    private static boolean mountedByMaker(Record r) {
        if (r.maker().isEmpty()) {
            return false;
        }
        Maker m = r.maker().get();
        try {
            return m.running() && ProcMounts.layerfsMountPoints(m.pid()).contains(r.mountPoint());
        } catch (IOException e) {
            return false;   // ended meanwhile, or a namespace this user may not read
        }
    }

    private static boolean olderThanMinutes(Path dir, int minutes) throws IOException {
        return Files.getLastModifiedTime(dir).toMillis() < System.currentTimeMillis() - minutes * 60_000L;
    }

    private static Optional<Maker> maker(JsonNode record) {
        if (!record.hasNonNull("pid")) {
            return Optional.empty();
        }
        long pid = record.get("pid").asLong();
        return Optional.of(record.hasNonNull("pidStartTicks")
                ? new Maker(pid, record.get("pidStartTicks").asLong(), true)
                : new Maker(pid, record.path("pidStarted").asLong(), false));
    }

    private static Optional<Record> read(Path dir) {
        try {
            JsonNode n = Json.parse(Files.readAllBytes(dir.resolve("mount.json")), "mount.json");
            List<Digest> diffIds = new ArrayList<>();
            for (JsonNode d : n.path("diffIds")) {
                diffIds.add(Digest.parse(d.asText()));
            }
            return Optional.of(new Record(Path.of(n.path("mountPoint").asText()),
                    Digest.parse(n.path("manifest").asText()), n.path("layers").asInt(),
                    n.hasNonNull("upperDir") ? Optional.of(Path.of(n.get("upperDir").asText())) : Optional.empty(),
                    n.path("ephemeral").asBoolean(), dir,
                    n.hasNonNull("config") ? Optional.of(Digest.parse(n.get("config").asText())) : Optional.empty(),
                    List.copyOf(diffIds),
                    maker(n)));
        } catch (IOException | ImageStoreException | IllegalArgumentException e) {
            return Optional.empty();
        }
    }
}
