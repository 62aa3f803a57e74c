package dev.layerfs.core.attr;

import dev.layerfs.core.copyup.CopyUp;
import dev.layerfs.core.error.Errno;
import dev.layerfs.core.error.FsException;
import dev.layerfs.core.handle.OpenFile;
import dev.layerfs.core.handle.PinnedFile;
import dev.layerfs.core.inode.Index;
import dev.layerfs.core.inode.InodeNumbers;
import dev.layerfs.core.lookup.Entry;
import dev.layerfs.core.lookup.Lookup;
import dev.layerfs.core.lookup.RealPath;
import dev.layerfs.core.model.IdMapping;
import dev.layerfs.core.model.LayerStack;
import dev.layerfs.core.model.OverlayPaths;
import dev.layerfs.core.nativeio.Linux;
import dev.layerfs.core.nativeio.Stat;
import dev.layerfs.core.nativeio.Syscalls;
import dev.layerfs.core.nativeio.Timespec;

/**
 * What stat shows and what chmod, chown, utimens and truncate change. Attributes are the topmost real object's,
 * with the inode number {@link InodeNumbers} gives; a merged directory reports one link (the kernel's choice:
 * counting subdirectories across layers is not worth it, and find and friends accept 1). Owners go out and come
 * in through the {@link IdMapping}. Every change copies the object up first and applies to the upper copy.
 */
public final class Attributes {
    private final LayerStack stack;
    private final Lookup lookup;
    private final CopyUp copyUp;
    private final InodeNumbers inodes;
    private final IdMapping ids;
    private final Syscalls sys = Syscalls.get();
    /** The inodes index where index=on, else null. */
    private volatile Index index;

    public Attributes(LayerStack stack, Lookup lookup, CopyUp copyUp, InodeNumbers inodes, IdMapping ids) {
        this.stack = stack;
        this.lookup = lookup;
        this.copyUp = copyUp;
        this.inodes = inodes;
        this.ids = ids;
    }

    /** With index=on: an indexed inode shows the overlay's link count, kept in {@code overlay.nlink}. */
    public void useIndex(Index idx) {
        this.index = idx;
    }

    /**
     * The merged view's stat of an existing entry. A metadata-only copy shows its own attributes with its data's
     * block count, as the kernel's ovl_getattr.
     */
    public Stat stat(Entry e) throws FsException {
        Stat shown = shown(e.stat(), inodes.of(e), e.isMergedDirectory());
        Index idx = index;
        // An indexed upper file has two links at least (its name and the index's); an index entry reached from a
        // lower name may have no other.
        if (idx != null && !e.isDirectory() && (e.hasUpper() && shown.nlink() >= 2 || e.isIndexed())) {
            shown = withNlink(shown, idx.shownNlink(e.top().layer().fd(), e.top().path(), e.stat()));
        }
        if (!e.isMetacopy()) {
            return shown;
        }
        return new Stat(shown.dev(), shown.ino(), shown.mode(), shown.nlink(), shown.uid(), shown.gid(),
                shown.rdev(), shown.size(), shown.blksize(), e.data().stat().blocks(), shown.atime(), shown.mtime(),
                shown.ctime());
    }

    /**
     * As {@link #shown(Stat, long, boolean)}, for an open upper file held by {@code fd}. With index=on its link
     * count is the overlay's wherever it is indexed, also where the index entry is its only real link (every name
     * removed while a descriptor, moved to the entry by the copy-up an unlink makes, stays open): one xattr read
     * per fstat of an upper file on such mounts. Where the xattr cannot be read through {@code fd} (an O_PATH
     * descriptor takes no fgetxattr), the real count is shown.
     */
    public Stat shownOpen(int fd, Stat st, long ino, boolean upper) throws FsException {
        Stat shown = shown(st, ino, false);
        Index idx = index;
        if (idx == null || !upper || shown.nlink() < 1) {
            return shown;
        }
        try {
            return withNlink(shown, idx.shownNlink(fd, st));
        } catch (FsException unreadable) {
            return shown;
        }
    }

    private static Stat withNlink(Stat s, long nlink) {
        return new Stat(s.dev(), s.ino(), s.mode(), nlink, s.uid(), s.gid(), s.rdev(), s.size(), s.blksize(),
                s.blocks(), s.atime(), s.mtime(), s.ctime());
    }

    /** The merged view's stat of a real object, given the inode number shown for it. */
    public Stat shown(Stat st, long ino, boolean mergedDirectory) {
        long nlink = mergedDirectory ? 1 : st.nlink();
        int uid = ids.shownUid(st.uid());
        int gid = ids.shownGid(st.gid());
        if (ino == st.ino() && nlink == st.nlink() && uid == st.uid() && gid == st.gid()) {
            return st; // shown as it is stored: the common case, without a copy
        }
        return new Stat(st.dev(), ino, st.mode(), nlink, uid, gid, st.rdev(), st.size(), st.blksize(), st.blocks(),
                st.atime(), st.mtime(), st.ctime());
    }

    /** chmod; returns the merged view's stat after it (see {@link #changed}). */
    public Stat chmod(String path, int mode) throws FsException {
        Entry e = writable(path, "chmod");
        if (e.stat().isSymlink()) {
            throw FsException.of(Errno.EOPNOTSUPP, "chmod of a symbolic link", OverlayPaths.show(path));
        }
        sys.fchmodat(upperFd(), path, mode & Linux.PERMISSION_BITS);
        return changed(path, e);
    }

    /**
     * chown, with ids as seen through the overlay; -1 leaves an id unchanged. Returns the stat after it. The real
     * chown takes setuid, and setgid where group execution is on; {@code unprivileged}: the groups of a caller
     * without CAP_FSETID, from whom a file outside them loses setgid without group execution as well (see
     * {@link Privileges}), or null.
     */
    public Stat chown(String path, int uid, int gid, Privileges.Groups unprivileged) throws FsException {
        Entry e = writable(path, "chown");
        sys.lchownat(upperFd(), path, ids.storedUid(uid), ids.storedGid(gid));
        if (unprivileged != null) {
            Stat before = e.stat();
            int wanted = Privileges.killed(before.mode(), before.gid(), unprivileged, ids);
            if (wanted != Privileges.killedByChown(before.mode())) {
                sys.fchmodat(upperFd(), path, wanted & Linux.PERMISSION_BITS);
            }
        }
        return changed(path, e);
    }

    /**
     * The merged view's stat of an entry whose upper object at {@code path} an operation has just changed (the
     * entry as it was before the change, copied up): what {@link #stat} of a fresh lookup shows, with only the
     * changed object stat-ed again, where that object is the entry's topmost (else the path is looked up again).
     */
    private Stat changed(String path, Entry e) throws FsException {
        RealPath top = e.top();
        if (!top.isUpper() || !top.path().equals(path)) {
            return stat(lookup.existing(path, "stat"));
        }
        return stat(lookup.restated(e, sys.lstat(top.layer().fd(), top.path())));
    }

    /**
     * chmod, chown (-1 leaves an id) or utimens through the descriptor of a file whose name is gone: applied to the
     * real file where it is in the upper layer; a file open on a lower layer has no upper copy to change, and the
     * kernel overlay's copy-up to its old name finds the whiteout there (EEXIST).
     */
    public void fchmod(OpenFile f, int mode) throws FsException {
        sys.fchmod(upperDescriptor(f, "fchmod"), mode & Linux.PERMISSION_BITS);
    }

    public void fchown(OpenFile f, int uid, int gid) throws FsException {
        sys.fchown(upperDescriptor(f, "fchown"), ids.storedUid(uid), ids.storedGid(gid));
    }

    public void futimens(OpenFile f, Timespec atime, Timespec mtime) throws FsException {
        sys.futimens(upperDescriptor(f, "futimens"), atime, mtime);
    }

    private static int upperDescriptor(OpenFile f, String op) throws FsException {
        if (!f.onUpper()) {
            // The kernel overlay copies it up to its old name, where the whiteout of its removal now is.
            throw FsException.of(Errno.EEXIST, op + " of a removed file open on a lower layer",
                    OverlayPaths.show(f.path()));
        }
        return f.fd();
    }

    /** chmod of a removed object held by a pin (a fifo, a device, a directory): its upper copy changes. */
    public void fchmod(PinnedFile f, int mode) throws FsException {
        if (!f.layer().upper()) {
            throw FsException.of(Errno.ENOENT, "fchmod of a removed object of a lower layer", "");
        }
        // An O_PATH descriptor takes no fchmod; its /proc link reaches the object.
        sys.fchmodat(Linux.AT_FDCWD, "/proc/self/fd/" + f.fd(), mode & Linux.PERMISSION_BITS);
    }

    /** utimens; returns the stat after it. */
    public Stat utimens(String path, Timespec atime, Timespec mtime) throws FsException {
        Entry e = writable(path, "utimens");
        sys.lutimensat(upperFd(), path, atime, mtime);
        return changed(path, e);
    }

    /**
     * truncate; {@code unprivileged}: the groups of a caller without CAP_FSETID, from whom setuid and setgid go too
     * (see {@link Privileges}), or null.
     */
    public void truncate(String path, long size, Privileges.Groups unprivileged) throws FsException {
        if (size < 0) {
            throw FsException.of(Errno.EINVAL, "truncate", OverlayPaths.show(path));
        }
        stack.requireUpper("truncate", OverlayPaths.show(path));
        Entry e = lookup.resolve(path).requireExists("truncate");
        if (e.isDirectory()) {
            throw FsException.of(Errno.EISDIR, "truncate", OverlayPaths.show(path));
        }
        if (!e.stat().isRegularFile()) {
            throw FsException.of(Errno.EINVAL, "truncate", OverlayPaths.show(path));
        }
        copyUp.copyUp(e, size != 0);
        int fd = sys.openat(upperFd(), path, Linux.O_WRONLY | Linux.O_NOFOLLOW, 0);
        try {
            sys.ftruncate(fd, size);
            Privileges.kill(sys, fd, unprivileged, ids);
        } finally {
            sys.close(fd);
        }
    }

    private Entry writable(String path, String op) throws FsException {
        stack.requireUpper(op, OverlayPaths.show(path));
        Entry e = lookup.resolve(path).requireExists(op);
        return copyUp.copyUpMetadata(e);
    }

    private int upperFd() {
        return stack.upper().orElseThrow().fd();
    }
}
