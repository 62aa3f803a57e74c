package dev.layerfs.core.handle;

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
    private final String path;
    private final int flags;
    private volatile int fd;
    private volatile boolean onUpper;
    private final List<Integer> retired = new ArrayList<>(0);

    public OpenFile(String path, int flags, int fd, boolean onUpper) {
        this.path = path;
        this.flags = flags;
        this.fd = fd;
        this.onUpper = onUpper;
    }

    /** The merged path it was opened at. */
    public String path() {
        return path;
    }

    /** The flags it was opened with. */
    public int flags() {
        return flags;
    }

    /** The real descriptor to read and write. */
    public int fd() {
        return fd;
    }

    public boolean onUpper() {
        return onUpper;
    }

    synchronized void moveToUpper(int upperFd) {
        if (fd < 0) {
            // Released while its copy-up was under way: nothing will ever close a new descriptor.
            Syscalls.get().close(upperFd);
            return;
        }
        retired.add(fd);
        fd = upperFd;
        onUpper = true;
    }

    synchronized void close() {
        Syscalls sys = Syscalls.get();
        sys.close(fd);
        retired.forEach(sys::close);
        retired.clear();
        fd = -1;
    }
}
