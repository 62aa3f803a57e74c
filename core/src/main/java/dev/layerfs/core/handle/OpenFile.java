package dev.layerfs.core.handle;

import dev.layerfs.core.model.Layer;
import dev.layerfs.core.nativeio.Linux;
import dev.layerfs.core.nativeio.Syscalls;
import java.util.ArrayList;
import java.util.List;

/**
 * A file opened through the overlay: the real descriptor that reads and writes go to, without looking the path
 * up again. A file opened read-only on a lower layer is moved to the upper copy when the path is copied up (as
 * the kernel's file.c reopens), so it sees later writes; the lower descriptor it held is closed at release,
 * never while a read may still be using it.
 */
public final class OpenFile {
    private volatile String path;
    private final int flags;
    private volatile int fd;
    private volatile Layer layer;
    private final List<Integer> retired = new ArrayList<>(0);
    private final boolean created;
    /** An O_PATH descriptor of the metadata-only upper copy made while this file stays open on its lower data. */
    private int metaFd = -1;

    public OpenFile(String path, int flags, int fd, Layer layer) {
        this(path, flags, fd, layer, false);
    }

    /** @param created true for a file this open made (O_CREAT on a free name) */
    public OpenFile(String path, int flags, int fd, Layer layer, boolean created) {
        this.path = path;
        this.flags = flags;
        this.fd = fd;
        this.layer = layer;
        this.created = created;
    }

    /** True where this open made the file. */
    public boolean created() {
        return created;
    }

    /** Its name moved (a directory above it, or a metadata-only copy, was renamed while it stayed on a lower layer). */
    void renamed(String newPath) {
        path = newPath;
    }

    /** The merged path it was opened at, or moved to since (a byte string). */
    public String path() {
        return path;
    }

    /** The flags it was opened with. */
    public int flags() {
        return flags;
    }

    /** True where it was opened with O_DIRECT: reads and writes bypass the page cache of the real file. */
    public boolean direct() {
        return (flags & Linux.O_DIRECT) != 0;
    }

    /** The real descriptor to read and write. */
    public int fd() {
        return fd;
    }

    /** The layer the descriptor's file lies in. */
    public Layer layer() {
        return layer;
    }

    public boolean onUpper() {
        return layer.upper();
    }

    /**
     * The metadata-only upper copy of the file this one reads (an O_PATH descriptor), there when it was opened or
     * made while it was open: its attributes are the file's, even after the name is removed; -1 where there is
     * none.
     */
    public synchronized int metaFd() {
        return metaFd;
    }

    /** Holds the metadata-only copy's O_PATH descriptor (closed with this file, or when another replaces it). */
    public synchronized void pinMetadata(int pathFd) {
        Syscalls sys = Syscalls.get();
        if (fd < 0) {
            sys.close(pathFd);
            return;
        }
        if (metaFd >= 0) {
            sys.close(metaFd);
        }
        metaFd = pathFd;
    }

    synchronized void moveToUpper(int upperFd, Layer upper) {
        if (fd < 0) {
            // Released while its copy-up was under way: nothing will ever close a new descriptor.
            Syscalls.get().close(upperFd);
            return;
        }
        retired.add(fd);
        fd = upperFd;
        layer = upper;
    }

    synchronized void close() {
        Syscalls sys = Syscalls.get();
        sys.close(fd);
        retired.forEach(sys::close);
        retired.clear();
        if (metaFd >= 0) {
            sys.close(metaFd);
            metaFd = -1;
        }
        fd = -1;
    }
}
