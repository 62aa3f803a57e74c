package dev.layerfs.core.handle;

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
 * The files open on a lower layer, by merged path. A lower file cannot change its merged path without being
 * copied up first (renames copy up, and directories with lower content cannot move), so the path is a stable
 * key until {@link #copiedUp}, which moves every such file to its new upper copy.
 */
public final class OpenFiles implements CopyUpListener {
    private static final Logger LOG = LoggerFactory.getLogger(OpenFiles.class);

    private final Map<String, Set<OpenFile>> onLower = new ConcurrentHashMap<>();
    private final Syscalls sys = Syscalls.get();
    private volatile Layer upper;

    public void setUpper(Layer upperLayer) {
        this.upper = upperLayer;
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
                f.moveToUpper(sys.openat(upper.fd(), path, Linux.O_RDONLY | Linux.O_NOFOLLOW, 0), upper);
            } catch (FsException e) {
                LOG.warn("a file open on the lower copy of /{} keeps reading it: {}", path, e.getMessage());
            }
        }
    }
}
