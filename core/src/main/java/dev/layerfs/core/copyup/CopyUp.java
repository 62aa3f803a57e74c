package dev.layerfs.core.copyup;

import dev.layerfs.core.error.FsException;
import dev.layerfs.core.inode.Index;
import dev.layerfs.core.inode.Origins;
import dev.layerfs.core.lookup.Entry;
import dev.layerfs.core.lookup.Lookup;
import dev.layerfs.core.lookup.RealPath;
import dev.layerfs.core.marker.DirectoryMarkers;
import dev.layerfs.core.marker.PrivateXattrs;
import dev.layerfs.core.model.IdMapping;
import dev.layerfs.core.model.Layer;
import dev.layerfs.core.model.OverlayPaths;
import dev.layerfs.core.nativeio.Linux;
import dev.layerfs.core.nativeio.Stat;
import dev.layerfs.core.nativeio.Syscalls;
import java.util.List;
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
    private static final String SECURITY_CAPABILITY = "security.capability";

    private final Layer upper;
    private final Lookup lookup;
    private final WorkDir work;
    private final CopyUpListener listener;
    private final PrivateXattrs markers;
    private final Optional<Origins> origins;
    private final IdMapping ids;
    private final boolean metacopy;
    /** The inodes index where index=on, else null. */
    private volatile Index index;
    private final DataCopier data = new DataCopier();
    private final XattrCopier xattrs = new XattrCopier();
    private final Syscalls sys = Syscalls.get();

    public CopyUp(Layer upper, Lookup lookup, WorkDir work, CopyUpListener listener, PrivateXattrs markers,
            Optional<Origins> origins, IdMapping ids) {
        this(upper, lookup, work, listener, markers, origins, ids, false);
    }

    /** @param metacopy metacopy=on: {@link #copyUpMetadata} copies a regular file's metadata only */
    public CopyUp(Layer upper, Lookup lookup, WorkDir work, CopyUpListener listener, PrivateXattrs markers,
            Optional<Origins> origins, IdMapping ids, boolean metacopy) {
        this.metacopy = metacopy;
        this.upper = upper;
        this.lookup = lookup;
        this.work = work;
        this.listener = listener;
        this.markers = markers;
        this.origins = origins;
        this.ids = ids;
    }

    /**
     * With index=on: a lower hard link is copied up into the index ({@code WORKDIR/index/<origin>}) and linked to
     * its name; its other names, copied up later, are linked to that same upper inode.
     */
    public void useIndex(Index idx) {
        this.index = idx;
    }

    /** Copies an existing entry up with its data; returns the entry as it now is. */
    public Entry copyUp(Entry e) throws FsException {
        return copyUp(e, true);
    }

    /** How a regular file is copied: with its data, empty (its data is about to go), or metadata only. */
    private enum Data {
        COPY, NONE, METADATA_ONLY
    }

    /**
     * Copies an existing entry up; {@code withData} false copies a regular file without its data, for an open
     * with O_TRUNC or a truncate to zero that would throw the data away at once. A metadata-only copy gets its
     * data now (or, without {@code withData}, stops being one).
     */
    public Entry copyUp(Entry e, boolean withData) throws FsException {
        e.requireExists("copy-up");
        if (e.hasUpper()) {
            return e.isMetacopy() ? (withData ? copyUpData(e) : dropMetacopy(e)) : e;
        }
        return copyUp(e, withData ? Data.COPY : Data.NONE);
    }

    /**
     * Copies an entry up for a change of its metadata (chmod, chown, utimens, xattrs, rename, link): with
     * metacopy=on a regular file's data stays where it is (the kernel's {@code overlay.metacopy}); otherwise, and
     * for everything else, as {@link #copyUp(Entry)}.
     */
    public Entry copyUpMetadata(Entry e) throws FsException {
        e.requireExists("copy-up");
        if (e.hasUpper()) {
            return e;
        }
        return copyUp(e, metacopy && e.stat().isRegularFile() ? Data.METADATA_ONLY : Data.COPY);
    }

    /**
     * Gives a metadata-only copy its data (the kernel's ovl_copy_up_meta_inode_data): written into the upper file
     * in place, so every hard link of it sees it; security.capability, which the write drops, is put back.
     */
    private Entry copyUpData(Entry e) throws FsException {
        RealPath top = e.top();
        byte[] capability = sys.lgetxattr(upper.fd(), top.path(), SECURITY_CAPABILITY);
        int in = openLower(e.data());
        int out = -1;
        try {
            out = sys.openat(upper.fd(), top.path(), Linux.O_WRONLY | Linux.O_NOFOLLOW, 0);
            data.copy(in, out, top.stat().size());
        } finally {
            sys.close(out);
            sys.close(in);
        }
        if (capability != null) {
            sys.lsetxattr(upper.fd(), top.path(), SECURITY_CAPABILITY, capability, 0);
        }
        return dropMetacopy(e);
    }

    /** A metadata-only copy becomes an ordinary upper file (its data copied, or about to be discarded). */
    private Entry dropMetacopy(Entry e) throws FsException {
        markers.remove(upper.fd(), e.top().path(), PrivateXattrs.METACOPY);
        lookup.invalidate(e.path());
        listener.copiedUp(e.path());
        return lookup.child(lookup.resolve(OverlayPaths.parent(e.path())), e.name());
    }

    private Entry copyUp(Entry e, Data how) throws FsException {
        if (e.hasUpper()) {
            return e;
        }
        Entry parent = e.parent();
        if (!parent.hasUpper()) {
            parent = copyUp(parent, Data.COPY);
        }
        if (markImpure(parent)) {
            parent = lookup.resolve(parent.path());
        }
        // The entry may have been looked up before an earlier copy-up of this operation reached it: then it is
        // looked up again.
        Entry current = lookup.isCurrent(e) ? e : lookup.child(parent, e.name()).requireExists("copy-up");
        if (current.hasUpper()) {
            return current;
        }
        Index idx = index;
        RealPath lower = current.bottom();
        String indexName = idx != null && Index.keeps(lower.stat()) && !lower.markers().metacopy()
                && (current.isIndexed() || current.reals().size() == 1) ? idx.nameFor(lower) : null;
        if (indexName != null) {
            long upperIno = copyIndexed(idx, lower, indexName, current.path(), how);
            origins.ifPresent(o -> o.copiedUpIndexed(upperIno, lower));
            lookup.invalidate(current.path());
            Entry up = lookup.child(parent, current.name());
            if (up.isMetacopy() && how != Data.METADATA_ONLY) {
                // Linked to a metadata-only index entry: its data comes up now, for every name.
                return how == Data.COPY ? copyUpData(up) : dropMetacopy(up);
            }
            if (how != Data.METADATA_ONLY) {
                listener.copiedUpInode(lower.stat(), current.path());
            } else {
                listener.metacopiedUpIndexed(current.path());
            }
            return up;
        }
        Stat copied = copyObject(current.top(), current.data(), current.path(), how);
        origins.ifPresent(o -> o.copiedUp(copied.ino(), current.top()));
        lookup.invalidate(current.path());
        if (how != Data.METADATA_ONLY) {
            // Files open on the lower copy keep reading it while its data stays there.
            listener.copiedUp(current.path());
        } else {
            listener.metacopiedUp(current.path());
        }
        if (!copied.isRegularFile()) {
            return lookup.child(parent, current.name());
        }
        // A regular file: what a lookup would find now is known. A metadata-only copy (with no redirect) is
        // followed by the lower object holding its data; a full or empty copy stands alone.
        RealPath up = new RealPath(upper, current.path(), copied,
                how == Data.METADATA_ONLY ? DirectoryMarkers.metacopyFile(null) : DirectoryMarkers.NONE);
        return lookup.made(parent, current.path(),
                how == Data.METADATA_ONLY ? List.of(up, current.data()) : List.of(up));
    }

    /** Makes sure every directory down to {@code dir} exists in the upper layer; returns its entry. */
    public Entry ensureUpperDirectory(Entry dir) throws FsException {
        return copyUp(dir.requireDirectory("copy-up"), Data.COPY);
    }

    /**
     * Marks an upper directory impure (kernel's ovl_set_impure): it holds, or is about to hold, an object that was
     * copied up or moved in with its origin, so listings show origins' inode numbers for its entries. Its times
     * stay as they were. Returns whether it was marked now (and its entry is stale).
     */
    public boolean markImpure(Entry dir) throws FsException {
        if (!origins.isPresent() || dir.top().markers().impure()) {
            return false;
        }
        RealPath top = dir.top();
        markers.set(upper.fd(), top.path(), PrivateXattrs.IMPURE, Y);
        lookup.invalidate(dir.path());
        return true;
    }

    /**
     * Records the lower directory of a merged directory as its origin where the upper directory has none, and
     * marks the upper parent impure (the kernel's ovl_fix_origin, done at lookup): so the directory keeps its
     * number wherever it is moved, and listings of its parent show it.
     */
    public void fixOrigin(Entry parent, String path, RealPath upperDir, RealPath lowerDir) throws FsException {
        if (origins.isEmpty() || markers.getOwn(upper.fd(), upperDir.path(), PrivateXattrs.ORIGIN) != null) {
            return;
        }
        origins.get().record(upper.fd(), upperDir.path(), lowerDir);
        if (parent.hasUpper() && !parent.top().markers().impure()) {
            markers.set(upper.fd(), parent.top().path(), PrivateXattrs.IMPURE, Y);
            lookup.invalidate(parent.path());
        }
        listener.originRecorded(path);
    }

    /**
     * The copy-up of a lower hard link with index=on (the kernel's indexed copy-up): the first of its names to be
     * copied up builds the copy in the work directory (metadata only where metacopy=on allows) and moves it into
     * the index; that one and every later one is linked to the index entry. Returns the upper inode number.
     */
    private long copyIndexed(Index idx, RealPath lower, String name, String path, Data how) throws FsException {
        String parentPath = OverlayPaths.parent(path);
        Stat parentTimes = sys.lstat(upper.fd(), parentPath);
        boolean existed = idx.has(name);
        if (!existed) {
            String tmp = work.tempName();
            try {
                sys.close(build(lower, lower, tmp, how));
                idx.adopt(work.fd(), tmp, name, lower.stat().nlink());
            } catch (FsException e) {
                work.removeTree(tmp);
                throw e;
            }
        }
        idx.linkUp(name, upper.fd(), path, existed);
        sys.lutimensat(upper.fd(), parentPath, parentTimes.atime(), parentTimes.mtime());
        return sys.lstat(upper.fd(), path).ino();
    }

    /**
     * Builds the copy in the work directory and renames it into place; returns its stat: a regular file's taken
     * in place, through the descriptor it was built through; another object's before the rename (its inode
     * number is what counts).
     */
    private Stat copyObject(RealPath src, RealPath dataSrc, String path, Data how) throws FsException {
        String tmp = work.tempName();
        String parentPath = OverlayPaths.parent(path);
        int fd = -1;
        try {
            fd = build(src, dataSrc, tmp, how);
            Stat built = fd >= 0 ? null : sys.lstat(work.fd(), tmp);
            Stat parentTimes = sys.lstat(upper.fd(), parentPath);
            sys.renameat2(work.fd(), tmp, upper.fd(), path, Linux.RENAME_NOREPLACE);
            sys.lutimensat(upper.fd(), parentPath, parentTimes.atime(), parentTimes.mtime());
            return fd >= 0 ? sys.fstat(fd) : built;
        } catch (FsException e) {
            work.removeTree(tmp);
            throw e;
        } finally {
            sys.close(fd);
        }
    }

    /**
     * Builds a copy of {@code src} at {@code tmp} in the work directory, with its origin record and times. A
     * regular file is built through a descriptor, which is returned open (the caller closes it); -1 otherwise.
     */
    private int build(RealPath src, RealPath dataSrc, String tmp, Data how) throws FsException {
        Stat st = src.stat();
        if (st.isRegularFile()) {
            int fd = copyRegular(src, dataSrc, tmp, st, how);
            try {
                if (origins.isPresent()) {
                    origins.get().record(fd, src);
                }
                sys.futimens(fd, st.atime(), st.mtime());
            } catch (FsException e) {
                sys.close(fd);
                throw e;
            }
            return fd;
        }
        switch (st.type()) {
            case Linux.S_IFDIR -> sys.mkdirat(work.fd(), tmp, 0700);
            case Linux.S_IFLNK -> sys.symlinkat(sys.readlinkat(src.layer().fd(), src.path()), work.fd(), tmp);
            default -> sys.mknodat(work.fd(), tmp, st.type() | 0600, st.rdev());
        }
        sys.lchownat(work.fd(), tmp, ids.canonicalUid(st.uid()), ids.canonicalGid(st.gid()));
        if (!st.isSymlink()) {
            sys.fchmodat(work.fd(), tmp, st.permissions());
        }
        xattrs.copy(src.layer().fd(), src.path(), work.fd(), tmp);
        if (origins.isPresent()) {
            origins.get().record(work.fd(), tmp, src);
        }
        sys.lutimensat(work.fd(), tmp, st.atime(), st.mtime());
        return -1;
    }

    /**
     * Data, owner, mode and xattrs of a regular file, through a descriptor, which is returned open. A
     * metadata-only copy has the size of its data, as a hole, and an empty {@code overlay.metacopy}, as the
     * kernel writes it.
     */
    private int copyRegular(RealPath src, RealPath dataSrc, String tmp, Stat st, Data how) throws FsException {
        int in = how == Data.COPY ? openLower(dataSrc) : -1;
        int out = -1;
        try {
            out = sys.openat(work.fd(), tmp, Linux.O_WRONLY | Linux.O_CREAT | Linux.O_EXCL | Linux.O_NOFOLLOW, 0600);
            if (how == Data.COPY) {
                data.copy(in, out, st.size());
            } else if (how == Data.METADATA_ONLY) {
                sys.ftruncate(out, st.size());
            }
            sys.fchown(out, ids.canonicalUid(st.uid()), ids.canonicalGid(st.gid()));
            sys.fchmod(out, st.permissions());
            xattrs.copy(src.layer().fd(), src.path(), out);
            if (how == Data.METADATA_ONLY) {
                markers.set(out, PrivateXattrs.METACOPY, new byte[0]);
            }
            int built = out;
            out = -1;
            return built;
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
