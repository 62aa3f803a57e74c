package dev.layerfs.core.copyup;

import dev.layerfs.core.error.FsException;
import dev.layerfs.core.inode.Origins;
import dev.layerfs.core.lookup.Entry;
import dev.layerfs.core.lookup.Lookup;
import dev.layerfs.core.lookup.RealPath;
import dev.layerfs.core.marker.PrivateXattrs;
import dev.layerfs.core.model.IdMapping;
import dev.layerfs.core.model.Layer;
import dev.layerfs.core.model.OverlayPaths;
import dev.layerfs.core.nativeio.Linux;
import dev.layerfs.core.nativeio.Stat;
import dev.layerfs.core.nativeio.Syscalls;
import java.util.Optional;

/**
 * Copy-up: makes a lower object exist in the upper layer so that it can be changed. Parents go first, each with
 * its mode, owner, times and xattrs. The object is built under a temporary name in the work directory (data,
 * then owner and mode, then xattrs, so security.capability survives the chown, then its origin record, then
 * times) and renamed into place, so a crash never leaves a half-copied object in the upper layer. As the kernel
 * does, the upper parent is marked impure first (it now holds an object whose inode number is its origin's). The
 * upper parent's times are put back afterwards: a copy-up is not a change the merged view shows.
 *
 * <p>Callers hold the overlay's namespace lock, so no two copy-ups of a path race.
 */
public final class CopyUp {
    private static final byte[] Y = {'y'};

    private final Layer upper;
    private final Lookup lookup;
    private final WorkDir work;
    private final CopyUpListener listener;
    private final PrivateXattrs markers;
    private final Optional<Origins> origins;
    private final IdMapping ids;
    private final DataCopier data = new DataCopier();
    private final XattrCopier xattrs = new XattrCopier();
    private final Syscalls sys = Syscalls.get();

    public CopyUp(Layer upper, Lookup lookup, WorkDir work, CopyUpListener listener, PrivateXattrs markers,
            Optional<Origins> origins, IdMapping ids) {
        this.upper = upper;
        this.lookup = lookup;
        this.work = work;
        this.listener = listener;
        this.markers = markers;
        this.origins = origins;
        this.ids = ids;
    }

    /** Copies an existing entry up with its data; returns the entry as it now is. */
    public Entry copyUp(Entry e) throws FsException {
        return copyUp(e, true);
    }

    /**
     * Copies an existing entry up; {@code withData} false copies a regular file's metadata only, for an open
     * with O_TRUNC or a truncate to zero that would throw the data away at once.
     */
    public Entry copyUp(Entry e, boolean withData) throws FsException {
        e.requireExists("copy-up");
        if (e.hasUpper()) {
            return e;
        }
        Entry parent = e.parent();
        if (!parent.hasUpper()) {
            parent = copyUp(parent, true);
        }
        if (!parent.top().markers().impure()) {
            markImpure(parent);
            parent = lookup.resolve(parent.path());
        }
        // The entry may have been looked up before an earlier copy-up of this operation reached it.
        Entry current = lookup.child(parent, e.name()).requireExists("copy-up");
        if (current.hasUpper()) {
            return current;
        }
        long upperIno = copyObject(current.top(), current.path(), withData);
        origins.ifPresent(o -> o.copiedUp(upperIno, current.stat()));
        lookup.invalidate(current.path());
        listener.copiedUp(current.path());
        return lookup.child(parent, current.name());
    }

    /** Makes sure every directory down to {@code dir} exists in the upper layer; returns its entry. */
    public Entry ensureUpperDirectory(Entry dir) throws FsException {
        return copyUp(dir.requireDirectory("copy-up"), true);
    }

    /**
     * Marks an upper directory impure (kernel's ovl_set_impure): it holds, or is about to hold, an object that was
     * copied up or moved in with its origin, so listings show origins' inode numbers for its entries. Its times
     * stay as they were.
     */
    public void markImpure(Entry dir) throws FsException {
        if (!origins.isPresent() || dir.top().markers().impure()) {
            return;
        }
        RealPath top = dir.top();
        markers.set(upper.fd(), top.path(), PrivateXattrs.IMPURE, Y);
        lookup.invalidate(dir.path());
    }

    /** Builds the copy in the work directory and renames it into place; returns its inode number. */
    private long copyObject(RealPath src, String path, boolean withData) throws FsException {
        Stat st = src.stat();
        String tmp = work.tempName();
        String parentPath = OverlayPaths.parent(path);
        try {
            switch (st.type()) {
                case Linux.S_IFDIR -> sys.mkdirat(work.fd(), tmp, 0700);
                case Linux.S_IFREG -> copyRegular(src, tmp, st, withData);
                case Linux.S_IFLNK -> sys.symlinkat(sys.readlinkat(src.layer().fd(), src.path()), work.fd(), tmp);
                default -> sys.mknodat(work.fd(), tmp, st.type() | 0600, st.rdev());
            }
            if (!st.isRegularFile()) {
                sys.lchownat(work.fd(), tmp, ids.canonicalUid(st.uid()), ids.canonicalGid(st.gid()));
                if (!st.isSymlink()) {
                    sys.fchmodat(work.fd(), tmp, st.permissions());
                }
                xattrs.copy(src.layer().fd(), src.path(), work.fd(), tmp);
            }
            if (origins.isPresent()) {
                origins.get().record(work.fd(), tmp, src);
            }
            sys.lutimensat(work.fd(), tmp, st.atime(), st.mtime());
            long ino = sys.lstat(work.fd(), tmp).ino();
            Stat parentTimes = sys.lstat(upper.fd(), parentPath);
            sys.renameat2(work.fd(), tmp, upper.fd(), path, Linux.RENAME_NOREPLACE);
            sys.lutimensat(upper.fd(), parentPath, parentTimes.atime(), parentTimes.mtime());
            return ino;
        } catch (FsException e) {
            work.removeTree(tmp);
            throw e;
        }
    }

    /** Data, owner, mode and xattrs of a regular file, through descriptors; times are set by the caller. */
    private void copyRegular(RealPath src, String tmp, Stat st, boolean withData) throws FsException {
        int in = openLower(src);
        int out = -1;
        try {
            out = sys.openat(work.fd(), tmp, Linux.O_WRONLY | Linux.O_CREAT | Linux.O_EXCL | Linux.O_NOFOLLOW, 0600);
            if (withData) {
                data.copy(in, out, st.size());
            }
            sys.fchown(out, ids.canonicalUid(st.uid()), ids.canonicalGid(st.gid()));
            sys.fchmod(out, st.permissions());
            xattrs.copy(src.layer().fd(), src.path(), work.fd(), tmp);
        } finally {
            sys.close(out);
            sys.close(in);
        }
    }

    /** Opens a lower file for reading without touching its atime where the kernel allows. */
    public static int openLower(RealPath src) throws FsException {
        return Syscalls.get().openNoAtime(src.layer().fd(), src.path(), Linux.O_RDONLY | Linux.O_NOFOLLOW);
    }
}
