package dev.layerfs.core.copyup;

import dev.layerfs.core.error.Errno;
import dev.layerfs.core.error.FsException;
import dev.layerfs.core.model.LayerStack;
import dev.layerfs.core.nativeio.Linux;
import dev.layerfs.core.nativeio.RawDirent;
import dev.layerfs.core.nativeio.Stat;
import dev.layerfs.core.nativeio.Syscalls;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The scratch directory {@code WORKDIR/work} on the upper filesystem, where objects are built before they are
 * renamed into the upper layer, and where removed directories are moved before they are deleted. As the kernel
 * does, it is emptied when the overlay starts, so leftovers of a crash never reach the merged view.
 */
public final class WorkDir {
    static final String NAME = "work";

    private final Syscalls sys = Syscalls.get();
    private final int fd;
    private final AtomicLong counter = new AtomicLong();

    private WorkDir(int fd) {
        this.fd = fd;
    }

    /** Creates or empties {@code WORKDIR/work}; the stack must have an upper layer. */
    public static WorkDir prepare(LayerStack stack) throws FsException {
        Syscalls sys = Syscalls.get();
        int parent = stack.workFd();
        Stat st = sys.lstatIfExists(parent, NAME);
        if (st != null && !st.isDirectory()) {
            sys.unlinkat(parent, NAME, false);
            st = null;
        }
        if (st == null) {
            try {
                sys.mkdirat(parent, NAME, 0700);
            } catch (FsException e) {
                // Another mount of the same workdir starting at the same moment made it first; what it made is
                // checked below as a directory like any other.
                if (e.errno() != Errno.EEXIST) {
                    throw e;
                }
            }
        }
        int fd = sys.openat(parent, NAME, Linux.O_PATH | Linux.O_DIRECTORY | Linux.O_NOFOLLOW, 0);
        WorkDir work = new WorkDir(fd);
        for (RawDirent d : sys.readdir(fd, "")) {
            work.removeTree(d.name());
        }
        return work;
    }

    /** The O_PATH descriptor of the work directory; temporary names are relative to it. */
    public int fd() {
        return fd;
    }

    /** A fresh name for a temporary object in the work directory. */
    public String tempName() {
        return "#" + Long.toHexString(counter.incrementAndGet());
    }

    /** Deletes an object of the work directory, a directory with everything in it. */
    public void removeTree(String name) throws FsException {
        removeTree(fd, name);
    }

    /** Walks one directory level at a time, so that no path grows with the depth of the tree. */
    private void removeTree(int dirfd, String name) throws FsException {
        Stat st = sys.lstatIfExists(dirfd, name);
        if (st == null) {
            return;
        }
        if (st.isDirectory()) {
            int sub = sys.openat(dirfd, name, Linux.O_PATH | Linux.O_DIRECTORY | Linux.O_NOFOLLOW, 0);
            try {
                for (RawDirent d : sys.readdir(sub, "")) {
                    removeTree(sub, d.name());
                }
            } finally {
                sys.close(sub);
            }
        }
        try {
            sys.unlinkat(dirfd, name, st.isDirectory());
        } catch (FsException e) {
            if (e.errno() != Errno.ENOENT) {
                throw e;
            }
        }
    }

    public void close() {
        sys.close(fd);
    }
}
