package dev.layerfs.image.store;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
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
     * recorded: then the manifest says. {@code maker}: the pid and start time (epoch ms) of the process that
     * made the record and the mount, where it names one.
     */
    public record Record(Path mountPoint, Digest manifest, int layers, Optional<Path> upperDir, boolean ephemeral,
                         Path dir, Optional<Digest> config, List<Digest> diffIds, Optional<long[]> maker) {
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

    private final LayerStore store;

    public MountRecords(LayerStore store) {
        this.store = store;
    }

    public Path dirFor(Path mountPoint) {
        String id = Digest.of(mountPoint.toString().getBytes(StandardCharsets.UTF_8)).hex().substring(0, 16);
        return store.mountsDir().resolve(id);
    }

    /** Starts a record (its directory, with tmp/ for an ephemeral layer) before the mount is made. */
    public Record create(Path mountPoint, Digest manifest, Digest config, List<Digest> diffIds,
                         Optional<Path> upperDir, boolean ephemeral, Optional<ProcessHandle> maker)
            throws IOException {
        Path dir = dirFor(mountPoint);
        LayerStore.deleteTree(dir);
        Files.createDirectories(dir.resolve("tmp"));
        ObjectNode n = Json.object();
        n.put("mountPoint", mountPoint.toString());
        n.put("manifest", manifest.toString());
        n.put("config", config.toString());
        n.put("layers", diffIds.size());
        ArrayNode ids = n.putArray("diffIds");
        for (Digest d : diffIds) {
            ids.add(d.toString());
        }
        upperDir.ifPresent(u -> n.put("upperDir", u.toString()));
        n.put("ephemeral", ephemeral);
        Optional<long[]> made = maker.flatMap(MountRecords::identity);
        made.ifPresent(m -> {
            n.put("pid", m[0]);
            n.put("pidStarted", m[1]);
        });
        Files.write(dir.resolve("mount.json"), Json.bytes(n));
        return new Record(mountPoint, manifest, diffIds.size(), upperDir, ephemeral, dir, Optional.of(config),
                List.copyOf(diffIds), made);
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

    /** A process's pid and start time (epoch ms), which together name it across pid reuse. */
    private static Optional<long[]> identity(ProcessHandle p) {
        return p.info().startInstant().map(i -> new long[] {p.pid(), i.toEpochMilli()});
    }

    /**
     * Whether the process a record names still runs (the same one: the pid not reused) and its mount namespace has
     * the record's mount point as a layerfs mount.
     */
    private static boolean mountedByMaker(Record r) {
        if (r.maker().isEmpty()) {
            return false;
        }
        long[] m = r.maker().get();
        boolean same = ProcessHandle.of(m[0]).flatMap(MountRecords::identity).map(now -> now[1] == m[1])
                .orElse(false);
        try {
            return same && ProcMounts.layerfsMountPoints(m[0]).contains(r.mountPoint());
        } catch (IOException e) {
            return false;   // ended meanwhile, or a namespace this user may not read
        }
    }

    private static boolean olderThanMinutes(Path dir, int minutes) throws IOException {
        return Files.getLastModifiedTime(dir).toMillis() < System.currentTimeMillis() - minutes * 60_000L;
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
                    n.hasNonNull("pid") ? Optional.of(new long[] {n.get("pid").asLong(), n.path("pidStarted").asLong()})
                            : Optional.empty()));
        } catch (IOException | ImageStoreException | IllegalArgumentException e) {
            return Optional.empty();
        }
    }
}
