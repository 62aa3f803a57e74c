package dev.layerfs.image.store;

import com.fasterxml.jackson.databind.JsonNode;
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
 * layer in {@code mounts/ID/tmp} (the launcher's TMPDIR) and deletes it at unmount. A record whose mount point is
 * no longer a layerfs mount is stale and removed by {@link #live}.
 */
public final class MountRecords {
    /** A recorded mount. {@code upperDir} empty: read-only, or ephemeral (then found below {@code tmpDir}). */
    public record Record(Path mountPoint, Digest manifest, int layers, Optional<Path> upperDir, boolean ephemeral,
                         Path dir) {
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
    public Record create(Path mountPoint, Image image, int layers, Optional<Path> upperDir, boolean ephemeral)
            throws IOException {
        Path dir = dirFor(mountPoint);
        LayerStore.deleteTree(dir);
        Files.createDirectories(dir.resolve("tmp"));
        ObjectNode n = Json.object();
        n.put("mountPoint", mountPoint.toString());
        n.put("manifest", image.manifestDigest().toString());
        n.put("layers", layers);
        upperDir.ifPresent(u -> n.put("upperDir", u.toString()));
        n.put("ephemeral", ephemeral);
        Files.write(dir.resolve("mount.json"), Json.bytes(n));
        return new Record(mountPoint, image.manifestDigest(), layers, upperDir, ephemeral, dir);
    }

    /** The record of a live layerfs mount at {@code mountPoint}. */
    public Optional<Record> find(Path mountPoint) throws IOException {
        return live().stream().filter(r -> r.mountPoint().equals(mountPoint)).findFirst();
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
                if (r.isPresent() && mounted.contains(r.get().mountPoint())) {
                    out.add(r.get());
                } else if (dir.getFileName().toString().matches("[0-9a-f]{16}") && olderThanMinutes(dir, 3)) {
                    LayerStore.deleteTree(dir);
                }
            }
        }
        return out;
    }

    private static boolean olderThanMinutes(Path dir, int minutes) throws IOException {
        return Files.getLastModifiedTime(dir).toMillis() < System.currentTimeMillis() - minutes * 60_000L;
    }

    private static Optional<Record> read(Path dir) {
        try {
            JsonNode n = Json.parse(Files.readAllBytes(dir.resolve("mount.json")), "mount.json");
            return Optional.of(new Record(Path.of(n.path("mountPoint").asText()),
                    Digest.parse(n.path("manifest").asText()), n.path("layers").asInt(),
                    n.hasNonNull("upperDir") ? Optional.of(Path.of(n.get("upperDir").asText())) : Optional.empty(),
                    n.path("ephemeral").asBoolean(), dir));
        } catch (IOException | ImageStoreException | IllegalArgumentException e) {
            return Optional.empty();
        }
    }
}
