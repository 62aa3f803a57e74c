package dev.layerfs.core.handle;

import dev.layerfs.core.bytes.ByteString;
import dev.layerfs.core.copyup.CopyUpListener;
import dev.layerfs.core.error.FsException;
import dev.layerfs.core.model.Layer;
import dev.layerfs.core.nativeio.Linux;
import dev.layerfs.core.nativeio.Syscalls;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The files open on a lower layer (and only those), by merged path. A lower file cannot change its merged path
 * without being copied up first (renames copy up, and directories with lower content cannot move), so the path
 * is a stable key until {@link #copiedUp}, which moves every such file to its new upper copy.
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

    @Override
    public void copiedUp(String path) {
        Set<OpenFile> files = onLower.remove(path);
        if (files == null) {
            return;
        }
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
