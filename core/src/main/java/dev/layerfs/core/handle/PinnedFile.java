package dev.layerfs.core.handle;

import dev.layerfs.core.model.Layer;
import dev.layerfs.core.nativeio.Syscalls;

/**
 * A real file held by an O_PATH descriptor, so that its attributes can still be read after its name is gone:
 * what a FUSE adapter needs for a file that is unlinked while open.
 */
public final class PinnedFile implements AutoCloseable {
    private final int fd;
    private final Layer layer;

    public PinnedFile(int fd, Layer layer) {
        this.fd = fd;
        this.layer = layer;
    }

    public int fd() {
        return fd;
    }

    public Layer layer() {
        return layer;
    }

    @Override
    public void close() {
        Syscalls.get().close(fd);
    }
}
