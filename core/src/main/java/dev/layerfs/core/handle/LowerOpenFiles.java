package dev.layerfs.core.handle;

import dev.layerfs.core.bytes.ByteString;
import dev.layerfs.core.copyup.CopyUpListener;
import dev.layerfs.core.error.FsException;
import dev.layerfs.core.model.Layer;
import dev.layerfs.core.nativeio.Linux;
import dev.layerfs.core.nativeio.Stat;
import dev.layerfs.core.nativeio.Syscalls;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The files open on a lower layer (and only those), by merged path, until {@link #copiedUp} moves every such file
 * to its new upper copy. A lower file's merged path changes without a copy-up when a directory above it moves
 * (redirect_dir=on): the rename calls {@link #moved}.
 */
public final class LowerOpenFiles implements CopyUpListener {
    private static final Logger LOG = LoggerFactory.getLogger(LowerOpenFiles.class);

    private final Map<String, Set<OpenFile>> onLower = new ConcurrentHashMap<>();
    private final Syscalls sys = Syscalls.get();
    private final Layer upper;

    /** @param upper the layer copied-up files are reopened in (null for a read-only stack, where none are) */
    public LowerOpenFiles(Layer upper) {
        this.upper = upper;
    }

    public void opened(OpenFile f) {
        if (!f.onUpper()) {
            onLower.computeIfAbsent(f.path(), k -> ConcurrentHashMap.newKeySet()).add(f);
        }
    }

    public void released(OpenFile f) {
        onLower.computeIfPresent(f.path(), (k, set) -> {
            set.remove(f);
            return set.isEmpty() ? null : set;
        });
        f.close();
    }

    /** The name no longer refers to the lower file those handles hold (it was removed or replaced). */
    public void forget(String path) {
        onLower.remove(path);
    }

    /**
     * A rename moved {@code from} to {@code to} (and, for an exchange, {@code to} to {@code from}): the files open
     * at those paths or below them are now at the new paths.
     */
    public synchronized void moved(String from, String to, boolean exchange) {
        Map<String, Set<OpenFile>> a = take(from);
        Map<String, Set<OpenFile>> b = exchange ? take(to) : Map.of();
        put(a, from, to);
        put(b, to, from);
    }

    private Map<String, Set<OpenFile>> take(String prefix) {
        Map<String, Set<OpenFile>> taken = new java.util.HashMap<>();
        for (String k : List.copyOf(onLower.keySet())) {
            if (k.equals(prefix) || k.startsWith(prefix + "/")) {
                Set<OpenFile> set = onLower.remove(k);
                if (set != null) {
                    taken.put(k, set);
                }
            }
        }
        return taken;
    }

    private void put(Map<String, Set<OpenFile>> taken, String from, String to) {
        taken.forEach((k, set) -> {
            String moved = to + k.substring(from.length());
            set.forEach(f -> f.renamed(moved));
            onLower.merge(moved, set, (x, y) -> {
                x.addAll(y);
                return x;
            });
        });
    }

    /** Every file open on the lower object {@code lower}, by whichever name, moves to the upper object at the path. */
    @Override
    public synchronized void copiedUpInode(Stat lower, String upperPath) {
        for (String path : List.copyOf(onLower.keySet())) {
            Set<OpenFile> files = onLower.get(path);
            if (files == null) {
                continue;
            }
            Set<OpenFile> same = ConcurrentHashMap.newKeySet();
            for (OpenFile f : files) {
                try {
                    Stat st = sys.fstat(f.fd());
                    if (st.dev() == lower.dev() && st.ino() == lower.ino()) {
                        same.add(f);
                    }
                } catch (FsException e) {
                    LOG.debug("fstat of a lower open file failed: {}", e.getMessage());
                }
            }
            if (!same.isEmpty()) {
                files.removeAll(same);
                if (files.isEmpty()) {
                    onLower.remove(path, files);
                }
                moveAll(same, upperPath);
            }
        }
    }

    /**
     * The files open at {@code path} keep reading the lower data and take their attributes from its new
     * metadata-only upper copy, held by an O_PATH descriptor so that fstat answers for it after an unlink.
     */
    @Override
    public void metacopiedUp(String path) {
        Set<OpenFile> files = onLower.get(path);
        if (files == null) {
            return;
        }
        for (OpenFile f : files) {
            try {
                f.pinMetadata(sys.openat(upper.fd(), path, Linux.O_PATH | Linux.O_NOFOLLOW | Linux.O_CLOEXEC, 0));
            } catch (FsException e) {
                LOG.debug("the metadata-only copy of /{} cannot be held: {}", ByteString.display(path),
                        e.getMessage());
            }
        }
    }

    @Override
    public void copiedUp(String path) {
        Set<OpenFile> files = onLower.remove(path);
        if (files == null) {
            return;
        }
        moveAll(files, path);
    }

    private void moveAll(Set<OpenFile> files, String path) {
        for (OpenFile f : files) {
            try {
                int flags = Linux.O_RDONLY | Linux.O_NOFOLLOW | (f.flags() & Linux.O_DIRECT);
                f.moveToUpper(sys.openat(upper.fd(), path, flags, 0), upper);
            } catch (FsException e) {
                LOG.warn("a file open on the lower copy of /{} keeps reading it: {}", ByteString.display(path),
                        e.getMessage());
            }
        }
    }
}
