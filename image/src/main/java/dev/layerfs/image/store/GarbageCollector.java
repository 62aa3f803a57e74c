package dev.layerfs.image.store;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;

/**
 * Removes the layers and blobs that no image in the index uses, except those of a live mount that {@code image
 * mount} recorded (whoever serves it) and layers a running layerfs daemon has on its command line (a mount made by
 * hand). Holds the index lock, so no image can be added between the scan and the removal; an import's layers are
 * locked and not yet listed, and are skipped because their lock is held.
 */
public final class GarbageCollector {
    private final LayerStore store;

    public GarbageCollector(LayerStore store) {
        this.store = store;
    }

    /** What was removed. */
    public record Result(List<Digest> layers, long blobs, List<Digest> inUse) {}

    public Result collect() throws ImageStoreException {
        try {
            FileLock indexLock = store.lock("index");
            try {
                Set<String> usedBlobs = new HashSet<>();
                Set<Digest> usedLayers = new HashSet<>();
                for (Image i : new ImageIndex(store).images()) {
                    usedBlobs.add(i.manifestDigest().hex());
                    usedBlobs.add(i.configDigest().hex());
                    for (JsonNode l : i.layerDescriptors()) {
                        usedBlobs.add(Digest.parse(l.path("digest").asText()).hex());
                    }
                    usedLayers.addAll(i.diffIds());
                }
                // what image mount mounted, whatever the index says now
                for (MountRecords.Record r : new MountRecords(store).live()) {
                    usedBlobs.add(r.manifest().hex());
                    if (r.config().isPresent() && !r.diffIds().isEmpty()) {
                        usedBlobs.add(r.config().get().hex());
                        usedLayers.addAll(r.diffIds());
                    } else if (store.hasBlob(r.manifest())) {
                        Image i = new ImageIndex(store).load(r.manifest(), List.of());
                        usedBlobs.add(i.configDigest().hex());
                        usedLayers.addAll(i.diffIds().subList(0, Math.min(r.layers(), i.diffIds().size())));
                    }
                }
                String cmdlines = String.join("\n", ProcMounts.mountDescriptions());
                List<Digest> removed = new ArrayList<>();
                List<Digest> inUse = new ArrayList<>();
                for (Path dir : list(store.layersDir())) {
                    String hex = dir.getFileName().toString();
                    if (!hex.matches("[0-9a-f]{64}") || usedLayers.contains(new Digest(hex))) {
                        continue;
                    }
                    Digest d = new Digest(hex);
                    if (cmdlines.contains(store.layerRoot(d).toString())) {
                        inUse.add(d);
                        usedBlobs.add(hex);
                        continue;
                    }
                    Path lock = store.root().resolve("locks").resolve(hex + ".lock");
                    try (FileChannel ch = FileChannel.open(lock, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
                        FileLock l = ch.tryLock();
                        if (l == null) {
                            continue;
                        }
                        // renamed first, so that no half-deleted layer is ever found by its name
                        Path doomed = store.newTempDir();
                        Files.move(dir, doomed.resolve("layer"));
                        LayerStore.deleteTree(doomed);
                        removed.add(d);
                        l.release();
                    }
                }
                long blobs = 0;
                for (Path b : list(store.root().resolve("blobs/sha256"))) {
                    if (!usedBlobs.contains(b.getFileName().toString())) {
                        Files.delete(b);
                        blobs++;
                    }
                }
                return new Result(removed, blobs, inUse);
            } finally {
                LayerStore.unlock(indexLock);
            }
        } catch (IOException e) {
            throw new ImageStoreException("cannot prune the store: " + e.getMessage(), e);
        }
    }

    private static List<Path> list(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.toList();
        }
    }
}
