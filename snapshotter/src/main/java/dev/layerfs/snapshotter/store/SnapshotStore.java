package dev.layerfs.snapshotter.store;

import com.google.protobuf.Timestamp;
import dev.layerfs.snapshotter.api.Info;
import dev.layerfs.snapshotter.api.Kind;
import dev.layerfs.snapshotter.api.Mount;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Snapshots with containerd's semantics ({@code snapshots.Snapshotter}, as its overlayfs snapshotter keeps them):
 * an active snapshot or a view is made on a committed parent (or none); committing an active snapshot turns it
 * into a committed one under a new name, on the same layer directory; a snapshot with children cannot be removed.
 *
 * <p>Records live in one metadata file under the root ({@link MetadataFile}), rewritten and renamed atomically at
 * each change; layer directories are created before the record that names them and removed after it is gone, so
 * a kill at any point leaves at worst a directory that no record names, which {@link #cleanup()} removes. All
 * changes are serialized by the store's lock; a usage scan of an active layer runs outside it.
 */
public final class SnapshotStore {
    private static final Logger LOG = LoggerFactory.getLogger(SnapshotStore.class);
    private final MetadataFile metadata;
    private final LayerDirectories directories;
    private final Clock clock;
    private final Map<String, StoredSnapshot> byKey = new LinkedHashMap<>();
    private long lastId;

    private SnapshotStore(MetadataFile metadata, LayerDirectories directories, Clock clock, StoredSnapshots state) {
        this.metadata = metadata;
        this.directories = directories;
        this.clock = clock;
        this.lastId = state.getLastId();
        for (StoredSnapshot s : state.getSnapshotsList()) {
            byKey.put(s.getInfo().getName(), s);
        }
    }

    /**
     * Opens the store under {@code root}, creating it (mode 0700) if needed. The root's path goes into mount
     * options, so it may hold neither {@code ,} nor {@code :}.
     */
    public static SnapshotStore open(Path root) throws IOException {
        String text = root.toString();
        if (text.contains(",") || text.contains(":")) {
            throw new IOException("root " + root + ": a path with ',' or ':' cannot be given in mount options");
        }
        Files.createDirectories(root);
        Files.setPosixFilePermissions(root, PosixFilePermissions.fromString("rwx------"));
        MetadataFile metadata = new MetadataFile(root);
        return new SnapshotStore(metadata, new LayerDirectories(root), Clock.systemUTC(), metadata.read());
    }

    public List<Mount> prepare(String key, String parent, Map<String, String> labels) throws SnapshotError,
            IOException {
        return create(Kind.ACTIVE, key, parent, labels);
    }

    public List<Mount> view(String key, String parent, Map<String, String> labels) throws SnapshotError,
            IOException {
        return create(Kind.VIEW, key, parent, labels);
    }

    private synchronized List<Mount> create(Kind kind, String key, String parent, Map<String, String> labels)
            throws SnapshotError, IOException {
        requireKey(key);
        if (!parent.isEmpty()) {
            StoredSnapshot p = byKey.get(parent);
            if (p == null) {
                throw SnapshotError.notFound("parent snapshot " + parent + " does not exist");
            }
            if (p.getInfo().getKind() != Kind.COMMITTED) {
                throw SnapshotError.invalidArgument("parent " + parent + " is not a committed snapshot");
            }
        }
        if (byKey.containsKey(key)) {
            throw SnapshotError.alreadyExists("snapshot " + key + " already exists");
        }
        long id = lastId + 1;
        while (directories.taken(id)) {
            id++;
        }
        LayerDirectories.Layer layer = directories.create(id);
        Timestamp now = now();
        StoredSnapshot record = StoredSnapshot.newBuilder().setId(id).setInfo(Info.newBuilder().setName(key)
                .setParent(parent).setKind(kind).setCreatedAt(now).setUpdatedAt(now).putAllLabels(labels)).build();
        long previousLastId = lastId;
        byKey.put(key, record);
        lastId = id;
        try {
            persist();
        } catch (IOException e) {
            byKey.remove(key);
            lastId = previousLastId;
            directories.remove(id);
            throw e;
        }
        return MountPlan.mounts(kind, layer, parentLayers(parent));
    }

    public synchronized List<Mount> mounts(String key) throws SnapshotError {
        StoredSnapshot s = require(key);
        Kind kind = s.getInfo().getKind();
        if (kind != Kind.ACTIVE && kind != Kind.VIEW) {
            throw SnapshotError.failedPrecondition("snapshot " + key + " is neither active nor a view");
        }
        return MountPlan.mounts(kind, directories.layer(s.getId()), parentLayers(s.getInfo().getParent()));
    }

    /** Makes active snapshot {@code key} the committed snapshot {@code name}, with {@code labels} as its labels. */
    public void commit(String name, String key, Map<String, String> labels) throws SnapshotError, IOException {
        StoredSnapshot active;
        synchronized (this) {
            requireKey(name);
            active = requireActive(key);
        }
        // The scan runs outside the lock (a large layer takes a while); the checks are made again after it.
        DiskUsage usage = DiskUsage.of(directories.layer(active.getId()).fs());
        synchronized (this) {
            if (byKey.containsKey(name)) {
                throw SnapshotError.alreadyExists("committed snapshot " + name + " already exists");
            }
            active = requireActive(key);
            Timestamp now = now();
            StoredSnapshot committed = StoredSnapshot.newBuilder().setId(active.getId())
                    .setInfo(Info.newBuilder().setName(name).setParent(active.getInfo().getParent())
                            .setKind(Kind.COMMITTED).setCreatedAt(now).setUpdatedAt(now).putAllLabels(labels))
                    .setSize(usage.size()).setInodes(usage.inodes()).build();
            Map<String, StoredSnapshot> before = new LinkedHashMap<>(byKey);
            byKey.remove(key);
            byKey.put(name, committed);
            try {
                persist();
            } catch (IOException e) {
                byKey.clear();
                byKey.putAll(before);
                throw e;
            }
        }
    }

    public void remove(String key) throws SnapshotError, IOException {
        long id;
        synchronized (this) {
            StoredSnapshot s = require(key);
            for (StoredSnapshot other : byKey.values()) {
                if (other.getInfo().getParent().equals(key)) {
                    throw SnapshotError.failedPrecondition("cannot remove snapshot " + key + ": it has a child, "
                            + other.getInfo().getName());
                }
            }
            byKey.remove(key);
            try {
                persist();
            } catch (IOException e) {
                byKey.put(key, s);
                throw e;
            }
            id = s.getId();
        }
        // The record is gone: a failure from here on leaves a directory for Cleanup, not an error for the caller.
        try {
            directories.remove(id);
        } catch (IOException e) {
            LOG.warn("snapshot {} removed; its directory is left for Cleanup: {}", key, e.getMessage());
        }
    }

    public synchronized Info stat(String key) throws SnapshotError {
        return require(key).getInfo();
    }

    /**
     * Changes a snapshot's labels, the only field that can change: {@code paths} {@code labels} replaces them all,
     * {@code labels.KEY} sets or (given no value) removes one; no paths means all labels.
     */
    public synchronized Info update(Info info, List<String> paths) throws SnapshotError, IOException {
        StoredSnapshot s = require(info.getName());
        Map<String, String> labels = new LinkedHashMap<>(s.getInfo().getLabelsMap());
        if (paths.isEmpty()) {
            labels = new LinkedHashMap<>(info.getLabelsMap());
        }
        for (String path : paths) {
            if (path.startsWith("labels.")) {
                String label = path.substring("labels.".length());
                String value = info.getLabelsMap().get(label);
                if (value == null || value.isEmpty()) {
                    labels.remove(label);
                } else {
                    labels.put(label, value);
                }
            } else if (path.equals("labels")) {
                labels = new LinkedHashMap<>(info.getLabelsMap());
            } else {
                throw SnapshotError.invalidArgument("cannot update " + path + " of snapshot " + info.getName());
            }
        }
        StoredSnapshot updated = s.toBuilder().setInfo(s.getInfo().toBuilder().clearLabels().putAllLabels(labels)
                .setUpdatedAt(now())).build();
        byKey.put(info.getName(), updated);
        try {
            persist();
        } catch (IOException e) {
            byKey.put(info.getName(), s);
            throw e;
        }
        return updated.getInfo();
    }

    /** An active snapshot's usage is measured now; a committed one's was measured at commit; a view uses none. */
    public DiskUsage usage(String key) throws SnapshotError, IOException {
        StoredSnapshot s;
        synchronized (this) {
            s = require(key);
        }
        if (s.getInfo().getKind() == Kind.ACTIVE) {
            return DiskUsage.of(directories.layer(s.getId()).fs());
        }
        return new DiskUsage(s.getSize(), s.getInodes());
    }

    public synchronized List<Info> list(List<String> filters) throws SnapshotError {
        ListFilter filter = ListFilter.parse(filters);
        List<Info> out = new ArrayList<>();
        for (StoredSnapshot s : byKey.values()) {
            if (filter.matches(s.getInfo())) {
                out.add(s.getInfo());
            }
        }
        return out;
    }

    /** Deletes the directories no record names (a kill's leftovers); returns them. */
    public synchronized List<Path> cleanup() throws IOException {
        Set<Long> ids = new HashSet<>();
        for (StoredSnapshot s : byKey.values()) {
            ids.add(s.getId());
        }
        return directories.removeAllBut(ids);
    }

    private List<LayerDirectories.Layer> parentLayers(String parent) {
        List<LayerDirectories.Layer> chain = new ArrayList<>();
        for (String p = parent; !p.isEmpty(); ) {
            StoredSnapshot s = byKey.get(p);
            if (s == null) {
                break;
            }
            chain.add(directories.layer(s.getId()));
            p = s.getInfo().getParent();
        }
        return chain;
    }

    private StoredSnapshot require(String key) throws SnapshotError {
        StoredSnapshot s = byKey.get(key);
        if (s == null) {
            throw SnapshotError.notFound("snapshot " + key + " does not exist");
        }
        return s;
    }

    private StoredSnapshot requireActive(String key) throws SnapshotError {
        StoredSnapshot s = byKey.get(key);
        if (s == null) {
            throw SnapshotError.notFound("active snapshot " + key + " does not exist");
        }
        if (s.getInfo().getKind() != Kind.ACTIVE) {
            throw SnapshotError.failedPrecondition("snapshot " + key + " is not active");
        }
        return s;
    }

    private static void requireKey(String key) throws SnapshotError {
        if (key.isEmpty()) {
            throw SnapshotError.invalidArgument("a snapshot needs a key");
        }
    }

    private void persist() throws IOException {
        metadata.write(StoredSnapshots.newBuilder().setLastId(lastId).addAllSnapshots(byKey.values()).build());
    }

    private Timestamp now() {
        Instant t = clock.instant();
        return Timestamp.newBuilder().setSeconds(t.getEpochSecond()).setNanos(t.getNano()).build();
    }
}
