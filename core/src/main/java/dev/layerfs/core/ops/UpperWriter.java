package dev.layerfs.core.ops;

import dev.layerfs.core.copyup.WorkDir;
import dev.layerfs.core.error.Errno;
import dev.layerfs.core.error.FsException;
import dev.layerfs.core.lookup.Entry;
import dev.layerfs.core.model.Layer;
import dev.layerfs.core.nativeio.Linux;
import dev.layerfs.core.nativeio.Syscalls;
import dev.layerfs.core.whiteout.WhiteoutCodec;

/**
 * The two ways the upper layer's namespace changes under a merged name: an object is put where the merged view
 * shows nothing (replacing a whiteout atomically, through the work directory), or an upper object is taken
 * away (leaving a whiteout where a lower layer still has the name). Creates, removals and renames build on
 * these.
 */
public final class UpperWriter {
    /** Builds a new object at a path relative to a directory descriptor; returns an open descriptor or -1. */
    @FunctionalInterface
    interface Builder {
        int build(int dirfd, String path) throws FsException;
    }

    private final Layer upper;
    private final WorkDir work;
    private final WhiteoutCodec whiteouts;
    private final Syscalls sys = Syscalls.get();

    public UpperWriter(Layer upper, WorkDir work, WhiteoutCodec whiteouts) {
        this.upper = upper;
        this.work = work;
        this.whiteouts = whiteouts;
    }

    public Layer upper() {
        return upper;
    }

    /**
     * Puts a new object where {@code target} (a miss whose parent is in the upper layer) stands. A directory
     * made over a whiteout is opaque, so that what the whiteout hid stays hidden. Returns what the builder
     * returned.
     */
    int install(Entry target, boolean directory, Builder builder) throws FsException {
        String path = target.path();
        boolean opaque = directory && target.upperWhiteout() != Entry.UpperWhiteout.NONE;
        if (target.upperWhiteout() == Entry.UpperWhiteout.DEVICE) {
            String tmp = work.tempName();
            int fd = -1;
            try {
                fd = builder.build(work.fd(), tmp);
                if (opaque) {
                    whiteouts.markOpaque(work.fd(), tmp);
                }
                sys.renameat2(work.fd(), tmp, upper.fd(), path, directory ? Linux.RENAME_EXCHANGE : 0);
                if (directory) {
                    work.removeTree(tmp);
                }
                return fd;
            } catch (FsException e) {
                sys.close(fd);
                work.removeTree(tmp);
                throw e;
            }
        }
        int fd = builder.build(upper.fd(), path);
        if (opaque) {
            whiteouts.markOpaque(upper.fd(), path);
        }
        if (target.upperWhiteout() == Entry.UpperWhiteout.AUFS_FILE) {
            whiteouts.removeWhiteoutFile(upper, path);
        }
        return fd;
    }

    /**
     * Removes the upper object at {@code path} (a directory must hold nothing but whiteouts), leaving a
     * whiteout there if {@code whiteout}: moved into the work directory and deleted there.
     */
    void remove(String path, boolean directory, boolean whiteout) throws FsException {
        String tmp = work.tempName();
        if (directory || whiteout) {
            move(upper.fd(), path, work.fd(), tmp, whiteout);
            work.removeTree(tmp);
        } else {
            sys.unlinkat(upper.fd(), path, false);
        }
    }

    /**
     * Renames an upper object within the upper layer, leaving a whiteout where it was if {@code whiteout}: one
     * atomic RENAME_WHITEOUT where the filesystem and the daemon's privileges allow it, else a rename followed by
     * a whiteout of the codec's kind.
     */
    void rename(String from, String to, boolean whiteout) throws FsException {
        move(upper.fd(), from, upper.fd(), to, whiteout);
    }

    private void move(int fromFd, String from, int toFd, String to, boolean whiteout) throws FsException {
        if (whiteout && whiteouts.writesDeviceWhiteouts()) {
            try {
                sys.renameat2(fromFd, from, toFd, to, Linux.RENAME_WHITEOUT);
                return;
            } catch (FsException e) {
                if (e.errno() != Errno.EINVAL && e.errno() != Errno.EPERM && e.errno() != Errno.EOPNOTSUPP) {
                    throw e;
                }
            }
        }
        sys.renameat2(fromFd, from, toFd, to, 0);
        if (whiteout) {
            whiteouts.createWhiteout(upper.fd(), from);
        }
    }

    /** Puts a whiteout at {@code path}, where the upper layer has nothing. */
    void whiteout(String path) throws FsException {
        whiteouts.createWhiteout(upper.fd(), path);
    }

    /** Deletes the whiteouts a directory of the upper layer holds, so that a rename may replace it. */
    void clearDirectory(String path) throws FsException {
        int dir = sys.openat(upper.fd(), path, Linux.O_PATH | Linux.O_DIRECTORY | Linux.O_NOFOLLOW, 0);
        try {
            for (var d : sys.readdir(dir, "")) {
                sys.unlinkat(dir, d.name(), false);
            }
        } finally {
            sys.close(dir);
        }
    }
}
