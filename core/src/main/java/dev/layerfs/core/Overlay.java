package dev.layerfs.core;

import dev.layerfs.core.attr.Attributes;
import dev.layerfs.core.attr.Permissions;
import dev.layerfs.core.attr.Privileges;
import dev.layerfs.core.attr.Xattrs;
import dev.layerfs.core.bytes.ByteString;
import dev.layerfs.core.copyup.CopyUp;
import dev.layerfs.core.copyup.CopyUpListener;
import dev.layerfs.core.copyup.CopyUpWatchers;
import dev.layerfs.core.copyup.WorkDir;
import dev.layerfs.core.error.Errno;
import dev.layerfs.core.error.FsException;
import dev.layerfs.core.handle.LowerOpenFiles;
import dev.layerfs.core.handle.OpenFile;
import dev.layerfs.core.handle.PinnedFile;
import dev.layerfs.core.inode.Index;
import dev.layerfs.core.inode.InodeNumbers;
import dev.layerfs.core.lookup.Entry;
import dev.layerfs.core.lookup.Lookup;
import dev.layerfs.core.marker.PrivateXattrs;
import dev.layerfs.core.model.Caller;
import dev.layerfs.core.model.ConfigException;
import dev.layerfs.core.model.IdMapping;
import dev.layerfs.core.model.LayerStack;
import dev.layerfs.core.model.OverlayConfig;
import dev.layerfs.core.model.OverlayPaths;
import dev.layerfs.core.nativeio.Linux;
import dev.layerfs.core.nativeio.Stat;
import dev.layerfs.core.nativeio.StatFs;
import dev.layerfs.core.nativeio.Syscalls;
import dev.layerfs.core.nativeio.Timespec;
import dev.layerfs.core.ops.Creation;
import dev.layerfs.core.ops.FileIo;
import dev.layerfs.core.ops.Open;
import dev.layerfs.core.ops.Removal;
import dev.layerfs.core.ops.Rename;
import dev.layerfs.core.ops.UpperWriter;
import dev.layerfs.core.readdir.DirEntry;
import dev.layerfs.core.readdir.MergedDirectory;
import dev.layerfs.core.whiteout.WhiteoutCodec;
import java.io.Closeable;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.Lock;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * A merged view of a layer stack, with every filesystem operation of the kernel overlay. Failures are
 * {@link FsException}s carrying the errno the kernel overlay gives.
 *
 * <p>Paths are merged-view paths ("/a/b" or "a/b"). A path, a name, a symbolic link target and an xattr name are
 * bytes, as Linux has them: the methods taking {@link ByteString}s are the engine's (the transports use them);
 * each has a {@code String} twin for callers whose names are text, which takes and gives UTF-8.
 *
 * <p>This class normalises paths, takes the lock and delegates. Concurrency: operations that change the
 * namespace or copy up take one write lock; lookups, stats and listings share a read lock; reads and writes on
 * open files take none (they go straight to the real descriptor).
 */
public final class Overlay implements Closeable {
    /** statvfs's f_flag bit for a read-only filesystem. */
    private static final long ST_RDONLY = 1;

    private final LayerStack stack;
    private final WorkDir work;
    private final Lookup lookup;
    private final MergedDirectory directories;
    private final LowerOpenFiles lowerOpenFiles;
    private final CopyUpWatchers copyUpWatchers;
    private final InodeNumbers inodes;
    private final Attributes attributes;
    private final Xattrs xattrs;
    private final Creation creation;
    private final Removal removal;
    private final Rename rename;
    private final Open open;
    private final IdMapping ids;
    private final FileIo io = new FileIo();
    /** The inodes index (index=on), or null. */
    private final Index index;
    private final boolean fsync;
    private final boolean metacopy;
    private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
    private final Syscalls sys = Syscalls.get();
    private final AtomicBoolean closed = new AtomicBoolean();

    private Overlay(LayerStack stack, WorkDir work, OverlayConfig config) throws ConfigException {
        this.stack = stack;
        this.work = work;
        this.fsync = config.fsync();
        this.metacopy = config.features().metacopy();
        PrivateXattrs markers = new PrivateXattrs();
        WhiteoutCodec whiteouts = new WhiteoutCodec(markers);
        this.inodes = new InodeNumbers(stack, markers);
        this.lookup = new Lookup(stack, whiteouts, config.features());
        this.lowerOpenFiles = new LowerOpenFiles(stack.upper().orElse(null));
        this.copyUpWatchers = new CopyUpWatchers(lowerOpenFiles);
        CopyUp copyUp = null;
        UpperWriter writer = null;
        if (stack.upper().isPresent()) {
            copyUp = new CopyUp(stack.upper().get(), lookup, work, copyUpWatchers, markers, inodes.origins(),
                    config.ids(), config.features().metacopy());
            writer = new UpperWriter(stack.upper().get(), work, whiteouts);
            lookup.onMergedWithoutOrigin(copyUp::fixOrigin);
        }
        this.directories = new MergedDirectory(whiteouts, inodes, lookup);
        lookup.onInvalidate(directories::invalidate);
        this.attributes = new Attributes(stack, lookup, copyUp, inodes, config.ids());
        this.xattrs = new Xattrs(stack, lookup, copyUp);
        this.creation = new Creation(stack, lookup, copyUp, writer, inodes, config.ids(),
                config.features().newDirectoriesOpaque());
        this.removal = new Removal(stack, lookup, copyUp, writer, directories, lowerOpenFiles, inodes);
        this.rename = new Rename(stack, lookup, copyUp, writer, directories, whiteouts, lowerOpenFiles, inodes,
                config.features().redirectDir().creates());
        this.open = new Open(stack, lookup, copyUp, creation, lowerOpenFiles, config.ids());
        this.ids = config.ids();
        this.index = config.features().index() && stack.upper().isPresent() ? prepareIndex(markers, copyUp) : null;
    }

    /** index=on: the index directory checked and in use by lookups, copy-up, stat, unlink and rename. */
    private Index prepareIndex(PrivateXattrs markers, CopyUp copyUp) throws ConfigException {
        Index idx = Index.prepare(stack, markers, inodes.origins().get());
        if (idx != null) {
            inodes.useIndex(idx);
            lookup.useIndex(idx::find);
            copyUp.useIndex(idx);
            attributes.useIndex(idx);
            removal.useIndex(idx);
            rename.useIndex(idx);
        }
        return idx;
    }

    /**
     * Checks and opens a layer stack. With an upper layer, {@code WORKDIR/work} is created or emptied; with
     * index=on, {@code WORKDIR/index} is created or checked, and the upper root records its lower root; nothing
     * else is written.
     */
    public static Overlay open(OverlayConfig config) throws ConfigException {
        return open(config, null);
    }

    /** The same, the lower layers as {@code checks} (a {@link LayerStack#validate}, or null) found them. */
    public static Overlay open(OverlayConfig config, LayerStack.Checks checks) throws ConfigException {
        LayerStack stack = LayerStack.open(config, checks);
        WorkDir work = null;
        if (!stack.readOnly()) {
            try {
                work = WorkDir.prepare(stack);
            } catch (FsException e) {
                stack.close();
                throw new ConfigException("cannot prepare workdir " + stack.workDir().orElseThrow() + ": "
                        + e.getMessage());
            }
        }
        try {
            return new Overlay(stack, work, config);
        } catch (ConfigException | RuntimeException e) {
            if (work != null) {
                work.close();
            }
            stack.close();
            throw e;
        }
    }

    /**
     * Tells {@code watcher} the merged path of every object copied up from now on (after files open on its lower
     * copy moved to the upper one), and of every merged directory whose origin is recorded at lookup (its inode
     * number and its parent's listing change as at a copy-up). It runs on the thread of the operation that copied up, inside the overlay's
     * lock: it must not call the overlay or block (a transport queues the path and acts once the operation
     * returned).
     */
    public void watchCopyUps(CopyUpListener watcher) {
        copyUpWatchers.add(watcher);
    }

    public LayerStack stack() {
        return stack;
    }

    public boolean readOnly() {
        return stack.readOnly();
    }

    /**
     * Whether lower hard links keep their identity through copy-up (index=on): then several names that are not
     * copied up yet show one inode number and one object.
     */
    public boolean indexed() {
        return index != null;
    }

    // ---- lookup and attributes ----

    public Stat getattr(ByteString path) throws FsException {
        String p = normalize(path);
        // The lock taken here rather than through underReadLock: the engine's most frequent call, and a capturing
        // lambda costs an allocation through a method handle (a call into the VM) in the daemon's C1-compiled code.
        Lock l = lock.readLock();
        l.lock();
        try {
            return attributes.stat(lookup.existing(p, "stat"));
        } finally {
            l.unlock();
        }
    }

    /**
     * The merged listing of a directory, without "." and ".." (unmodifiable; cached until the directory changes).
     * Each entry's inode number is what a stat of it shows.
     */
    public List<DirEntry> readdir(ByteString path) throws FsException {
        String p = normalize(path);
        return underReadLock(() -> directories.list(lookup.resolve(p).requireDirectory("readdir")));
    }

    /** The target of a symbolic link, as the bytes it holds. */
    public ByteString readlink(ByteString path) throws FsException {
        String p = normalize(path);
        return underReadLock(() -> {
            Entry e = lookup.existing(p, "readlink");
            if (!e.stat().isSymlink()) {
                throw FsException.of(Errno.EINVAL, "readlink", OverlayPaths.show(p));
            }
            return ByteString.trusted(sys.readlinkat(e.top().layer().fd(), e.top().path()));
        });
    }

    /** access(2) for a caller; W_OK on a read-only overlay is EROFS. */
    public void access(ByteString path, int mask, Caller caller) throws FsException {
        Stat st = getattr(path);
        if ((mask & Linux.W_OK) != 0 && readOnly()) {
            throw FsException.of(Errno.EROFS, "access", path.toString());
        }
        if (!Permissions.allows(st, caller, mask & 7)) {
            throw FsException.of(Errno.EACCES, "access", path.toString());
        }
    }

    /**
     * The upper layer's filesystem, or the topmost lower layer's for a read-only overlay, flagged ST_RDONLY
     * then (as the kernel's read-only overlay reports).
     */
    public StatFs statfs() throws FsException {
        StatFs st = sys.fstatvfs(stack.upper().orElse(stack.topLower()).fd());
        if (!readOnly()) {
            return st;
        }
        return new StatFs(st.bsize(), st.frsize(), st.blocks(), st.bfree(), st.bavail(), st.files(), st.ffree(),
                st.favail(), st.fsid(), st.flag() | ST_RDONLY, st.namemax());
    }

    // ---- changing attributes ----

    /**
     * chmod; returns the attributes after it, as {@link #getattr} shows them (so a transport answering the
     * change with them need not look the path up again). The same for {@link #chown} and {@link #utimens}.
     */
    public Stat chmod(ByteString path, int mode) throws FsException {
        String p = normalize(path);
        return change(() -> attributes.chmod(p, mode), p);
    }

    public Stat chown(ByteString path, int uid, int gid) throws FsException {
        return chown(path, uid, gid, null);
    }

    /**
     * chown; the real chown takes setuid, and setgid where group execution is on, whoever asks. {@code
     * unprivileged}: the groups of a caller without CAP_FSETID, from whom a file outside them loses setgid
     * without group execution too (see {@link Privileges}); null for a caller holding it or not known.
     */
    public Stat chown(ByteString path, int uid, int gid, Privileges.Groups unprivileged) throws FsException {
        String p = normalize(path);
        return change(() -> attributes.chown(p, uid, gid, unprivileged), p);
    }

    /** Whether a caller is taken to hold CAP_FSETID where the kernel does not say (see {@link Privileges}). */
    public boolean privileged(Caller caller) {
        return Privileges.privileged(caller, ids);
    }

    public Stat utimens(ByteString path, Timespec atime, Timespec mtime) throws FsException {
        String p = normalize(path);
        return change(() -> attributes.utimens(p, atime, mtime), p);
    }

    public void truncate(ByteString path, long size) throws FsException {
        truncate(path, size, null);
    }

    /**
     * truncate; {@code unprivileged}: the groups of a caller without CAP_FSETID, from whom the file loses setuid
     * and setgid as well (see {@link Privileges}), as the kernel's do_truncate takes them, in the same change;
     * null for a caller holding it.
     */
    public void truncate(ByteString path, long size, Privileges.Groups unprivileged) throws FsException {
        String p = normalize(path);
        change(() -> attributes.truncate(p, size, unprivileged), p);
    }

    public byte[] getxattr(ByteString path, ByteString name) throws FsException {
        String p = normalize(path);
        // Without a lambda, as getattr: the kernel asks for security.capability before every write.
        Lock l = lock.readLock();
        l.lock();
        try {
            return xattrs.get(p, name.latin1());
        } finally {
            l.unlock();
        }
    }

    public List<ByteString> listxattr(ByteString path) throws FsException {
        String p = normalize(path);
        return underReadLock(() -> xattrs.list(p).stream().map(ByteString::trusted).toList());
    }

    public void setxattr(ByteString path, ByteString name, byte[] value, int flags) throws FsException {
        String p = normalize(path);
        change(() -> xattrs.set(p, name.latin1(), value, flags), p);
    }

    public void removexattr(ByteString path, ByteString name) throws FsException {
        String p = normalize(path);
        change(() -> xattrs.remove(p, name.latin1()), p);
    }

    // ---- namespace ----

    public void mkdir(ByteString path, int mode, Caller caller) throws FsException {
        String p = normalize(path);
        change(() -> creation.mkdir(p, mode, caller), p);
    }

    public void mknod(ByteString path, int mode, long rdev, Caller caller) throws FsException {
        String p = normalize(path);
        change(() -> creation.mknod(p, mode, rdev, caller), p);
    }

    /** A symbolic link at {@code path} holding {@code target} (any bytes, stored as they are). */
    public void symlink(ByteString target, ByteString path, Caller caller) throws FsException {
        String p = normalize(path);
        change(() -> creation.symlink(target.latin1(), p, caller), p);
    }

    public void link(ByteString from, ByteString to) throws FsException {
        String f = normalize(from);
        String t = normalize(to);
        change(() -> creation.link(f, t), f, t);
    }

    public void unlink(ByteString path) throws FsException {
        String p = normalize(path);
        change(() -> removal.unlink(p), p);
    }

    public void rmdir(ByteString path) throws FsException {
        String p = normalize(path);
        change(() -> removal.rmdir(p), p);
    }

    /**
     * rename, with 0, RENAME_NOREPLACE or RENAME_EXCHANGE. False where the two names are one object (the same name,
     * or two names of one inode: the VFS's source == target), which succeeds without a change.
     */
    public boolean rename(ByteString from, ByteString to, int flags) throws FsException {
        String f = normalize(from);
        String t = normalize(to);
        return change(() -> rename.rename(f, t, flags), f, t);
    }

    // ---- open files ----

    /**
     * Opens a file. Reading stays on the layer that has the file; O_WRONLY, O_RDWR or O_TRUNC copy it up first.
     * With O_CREAT a missing file is created (owned by {@code caller}); O_CREAT|O_EXCL on an existing name is
     * EEXIST.
     */
    public OpenFile open(ByteString path, int flags, int mode, Caller caller) throws FsException {
        return open(path, flags, mode, caller, null, null);
    }

    /**
     * As {@link #open(ByteString, int, int, Caller)}, told whether the caller holds CAP_FSETID, which decides
     * whether O_TRUNC takes setuid and setgid from an existing file (null: root and the id standing for root are
     * taken to hold it; FUSE's HANDLE_KILLPRIV_V2 tells a transport), and the caller's groups (null where not
     * known), which decide for setgid without group execution (see {@link Privileges}).
     */
    public OpenFile open(ByteString path, int flags, int mode, Caller caller, Boolean fsetid,
            Privileges.Groups groups) throws FsException {
        String p = normalize(path);
        if ((flags & Linux.O_CREAT) != 0) {
            OpenFile created = underWriteLock(() -> open.create(p, flags, mode, caller));
            if (created != null) {
                return created;
            }
        }
        // Registered under the lock that found the file on a lower layer, so no copy-up can slip in between. Taken
        // here without a lambda, as getattr: every open comes through here.
        Lock l = Linux.opensForWrite(flags) ? lock.writeLock() : lock.readLock();
        l.lock();
        try {
            return open.existing(p, flags & ~Linux.O_CREAT, caller, fsetid, groups);
        } finally {
            l.unlock();
        }
    }

    /**
     * Reads into {@code dst}, from its position up to its limit, at {@code offset}; the position moves past what
     * was read. Returns the bytes read, 0 at the end. A direct buffer is read into without a copy.
     */
    public int read(OpenFile f, ByteBuffer dst, long offset) throws FsException {
        return io.read(f, dst, offset);
    }

    /** Writes all of {@code src}, from its position up to its limit, at {@code offset}; returns the bytes written. */
    public int write(OpenFile f, ByteBuffer src, long offset) throws FsException {
        return io.write(f, src, offset);
    }

    public int read(OpenFile f, byte[] buf, int size, long offset) throws FsException {
        ByteBuffer direct = ByteBuffer.allocateDirect(size);
        int n = io.read(f, direct, offset);
        direct.flip().get(buf, 0, n);
        return n;
    }

    public int write(OpenFile f, byte[] buf, int size, long offset) throws FsException {
        ByteBuffer direct = ByteBuffer.allocateDirect(size);
        direct.put(buf, 0, size).flip();
        return io.write(f, direct, offset);
    }

    public void ftruncate(OpenFile f, long size) throws FsException {
        requireWritableHandle(f, "ftruncate");
        sys.ftruncate(f.fd(), size);
    }

    /**
     * After a write or ftruncate through {@code f} by a caller without CAP_FSETID, of these groups: the file loses
     * setuid and setgid where it has them (see {@link Privileges}). Costs an fstat.
     */
    public void killPrivileges(OpenFile f, Privileges.Groups unprivileged) throws FsException {
        requireWritableHandle(f, "write");
        Privileges.kill(sys, f.fd(), unprivileged, ids);
    }

    /**
     * lseek on the real file (SEEK_DATA and SEEK_HOLE find its real holes); -1 where SEEK_DATA or SEEK_HOLE is
     * past the end (ENXIO to the caller).
     */
    public long lseek(OpenFile f, long offset, int whence) throws FsException {
        return io.seek(f, offset, whence);
    }

    /**
     * copy_file_range between two open files of this overlay: the destination must be open for writing (so it is
     * on the upper layer), the source open for reading; the source may be on any layer. Returns the bytes copied,
     * possibly fewer than asked (at the source's end, or one buffered chunk): the caller asks again for the rest.
     */
    public long copyFileRange(OpenFile in, long inOffset, OpenFile out, long outOffset, long length)
            throws FsException {
        requireWritableHandle(out, "copy_file_range");
        requireReadableHandle(in, "copy_file_range");
        return io.copyRange(in, inOffset, out, outOffset, length);
    }

    /**
     * chmod through the descriptor of a file whose name is gone (its path cannot be changed): the upper copy it is
     * open on changes; a file open on a lower layer is EEXIST (the kernel overlay's copy-up meets the whiteout).
     * The same for {@link #fchown} and {@link #futimens}.
     */
    public void fchmod(OpenFile f, int mode) throws FsException {
        change(() -> attributes.fchmod(f, mode), f.path());
    }

    /** chmod of a removed fifo, device or directory held by a {@link #pin}: its upper copy changes. */
    public void fchmod(PinnedFile f, int mode) throws FsException {
        change(() -> attributes.fchmod(f, mode));
    }

    public void fchown(OpenFile f, int uid, int gid) throws FsException {
        change(() -> attributes.fchown(f, uid, gid), f.path());
    }

    public void futimens(OpenFile f, Timespec atime, Timespec mtime) throws FsException {
        change(() -> attributes.futimens(f, atime, mtime), f.path());
    }

    public void fallocate(OpenFile f, int mode, long offset, long length) throws FsException {
        requireWritableHandle(f, "fallocate");
        sys.fallocate(f.fd(), mode, offset, length);
    }

    /** fsync, unless the overlay was opened volatile (fsync off). */
    public void fsync(OpenFile f, boolean dataOnly) throws FsException {
        if (fsync) {
            sys.fsync(f.fd(), dataOnly);
        }
    }

    /**
     * The stat of an open file, from its descriptor: it needs no lookup, and it still answers after the name was
     * removed or replaced.
     */
    public Stat fstat(OpenFile f) throws FsException {
        Stat st = sys.fstat(f.fd());
        if (metacopy && !f.onUpper()) {
            // Open on the data of what may be a metadata-only copy: its attributes are the copy's.
            Stat meta = underReadLock(() -> {
                Entry e;
                try {
                    e = lookup.resolve(normalizeLatin1(f.path()));
                } catch (FsException gone) {
                    return null;
                }
                return e.isMetacopy() && e.data().stat().ino() == st.ino() && e.data().stat().dev() == st.dev()
                        ? attributes.stat(e) : null;
            });
            if (meta != null) {
                return meta;
            }
            int m = f.metaFd();
            if (m >= 0) {
                // Its name is gone (or names another object now): the metadata-only copy made while it was open
                // is still its inode, as the kernel overlay's inode is (nlink 0 after an unlink).
                Stat ms = sys.fstat(m);
                Stat shown = attributes.shownOpen(m, ms, inodes.ofDescriptor(f.layer(), f.fd(), st), true);
                return new Stat(shown.dev(), shown.ino(), shown.mode(), shown.nlink(), shown.uid(), shown.gid(),
                        shown.rdev(), shown.size(), shown.blksize(), st.blocks(), shown.atime(), shown.mtime(),
                        shown.ctime());
            }
        }
        long ino = f.created() && f.layer().upper() ? inodes.ofCreated(f.layer(), st)
                : inodes.ofDescriptor(f.layer(), f.fd(), st);
        return attributes.shownOpen(f.fd(), st, ino, f.layer().upper());
    }

    /**
     * Holds on to the real object behind a path, so that {@link #fstat(PinnedFile)} still answers after the name
     * is removed. A directory's link count is then its topmost real directory's (not the merged directory's 1).
     * Close it when done.
     */
    public PinnedFile pin(ByteString path) throws FsException {
        String p = normalize(path);
        return underReadLock(() -> {
            Entry e = lookup.existing(p, "pin");
            int fd = sys.openat(e.top().layer().fd(), e.top().path(), Linux.O_PATH | Linux.O_NOFOLLOW, 0);
            return new PinnedFile(fd, e.top().layer());
        });
    }

    public Stat fstat(PinnedFile f) throws FsException {
        Stat st = sys.fstat(f.fd());
        return attributes.shown(st, inodes.ofDescriptor(f.layer(), f.fd(), st), false);
    }

    public void release(OpenFile f) {
        lowerOpenFiles.released(f);
    }

    private static void requireWritableHandle(OpenFile f, String op) throws FsException {
        if ((f.flags() & Linux.O_ACCMODE) == Linux.O_RDONLY) {
            throw FsException.of(Errno.EBADF, op, OverlayPaths.show(f.path()));
        }
    }

    private static void requireReadableHandle(OpenFile f, String op) throws FsException {
        if ((f.flags() & Linux.O_ACCMODE) == Linux.O_WRONLY) {
            throw FsException.of(Errno.EBADF, op, OverlayPaths.show(f.path()));
        }
    }

    public boolean fsyncEnabled() {
        return fsync;
    }

    /** Closes the layers' descriptors; a second call does nothing (the numbers may belong to others by then). */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        if (work != null) {
            work.close();
        }
        if (index != null) {
            index.close();
        }
        inodes.close();
        stack.close();
    }

    // ---- the same, for callers whose paths and names are UTF-8 text ----

    public Stat getattr(String path) throws FsException {
        return getattr(ByteString.utf8(path));
    }

    public List<DirEntry> readdir(String path) throws FsException {
        return readdir(ByteString.utf8(path));
    }

    /** The target as UTF-8 text (bytes that are not UTF-8 become U+FFFD: use the ByteString form for those). */
    public String readlink(String path) throws FsException {
        return new String(readlink(ByteString.utf8(path)).bytes(), StandardCharsets.UTF_8);
    }

    public void access(String path, int mask, Caller caller) throws FsException {
        access(ByteString.utf8(path), mask, caller);
    }

    public Stat chmod(String path, int mode) throws FsException {
        return chmod(ByteString.utf8(path), mode);
    }

    public Stat chown(String path, int uid, int gid) throws FsException {
        return chown(ByteString.utf8(path), uid, gid);
    }

    public Stat utimens(String path, Timespec atime, Timespec mtime) throws FsException {
        return utimens(ByteString.utf8(path), atime, mtime);
    }

    public void truncate(String path, long size) throws FsException {
        truncate(ByteString.utf8(path), size);
    }

    public byte[] getxattr(String path, String name) throws FsException {
        return getxattr(ByteString.utf8(path), ByteString.utf8(name));
    }

    public List<String> listxattr(String path) throws FsException {
        return listxattr(ByteString.utf8(path)).stream().map(n -> new String(n.bytes(), StandardCharsets.UTF_8))
                .toList();
    }

    public void setxattr(String path, String name, byte[] value, int flags) throws FsException {
        setxattr(ByteString.utf8(path), ByteString.utf8(name), value, flags);
    }

    public void removexattr(String path, String name) throws FsException {
        removexattr(ByteString.utf8(path), ByteString.utf8(name));
    }

    public void mkdir(String path, int mode, Caller caller) throws FsException {
        mkdir(ByteString.utf8(path), mode, caller);
    }

    public void mknod(String path, int mode, long rdev, Caller caller) throws FsException {
        mknod(ByteString.utf8(path), mode, rdev, caller);
    }

    public void symlink(String target, String path, Caller caller) throws FsException {
        symlink(ByteString.utf8(target), ByteString.utf8(path), caller);
    }

    public void link(String from, String to) throws FsException {
        link(ByteString.utf8(from), ByteString.utf8(to));
    }

    public void unlink(String path) throws FsException {
        unlink(ByteString.utf8(path));
    }

    public void rmdir(String path) throws FsException {
        rmdir(ByteString.utf8(path));
    }

    public boolean rename(String from, String to, int flags) throws FsException {
        return rename(ByteString.utf8(from), ByteString.utf8(to), flags);
    }

    public OpenFile open(String path, int flags, int mode, Caller caller) throws FsException {
        return open(ByteString.utf8(path), flags, mode, caller);
    }

    /** Opens an existing file with flags without O_CREAT, for root. */
    public OpenFile open(String path, int flags) throws FsException {
        return open(ByteString.utf8(path), flags & ~Linux.O_CREAT, 0, Caller.ROOT);
    }

    public PinnedFile pin(String path) throws FsException {
        return pin(ByteString.utf8(path));
    }

    // ---- paths and locking ----

    private static String normalize(ByteString path) throws FsException {
        return OverlayPaths.normalize(path.latin1());
    }

    private static String normalizeLatin1(String path) throws FsException {
        return OverlayPaths.normalize(path);
    }

    @FunctionalInterface
    private interface Op<T> {
        T run() throws FsException;
    }

    @FunctionalInterface
    private interface VoidOp {
        void run() throws FsException;
    }

    /** Runs {@code op} under the read lock. */
    private <T> T underReadLock(Op<T> op) throws FsException {
        return locked(lock.readLock(), op);
    }

    /** Runs {@code op} under the write lock. */
    private <T> T underWriteLock(Op<T> op) throws FsException {
        return locked(lock.writeLock(), op);
    }

    /** Runs a change under the write lock, then drops what the lookup cache holds for the paths it touched. */
    private void change(VoidOp op, String... touched) throws FsException {
        change(() -> {
            op.run();
            return null;
        }, touched);
    }

    /** As {@link #change(VoidOp, String...)}, for a change that tells something back. */
    private <T> T change(Op<T> op, String... touched) throws FsException {
        return locked(lock.writeLock(), () -> {
            try {
                return op.run();
            } finally {
                for (String path : touched) {
                    lookup.invalidate(path);
                }
            }
        });
    }

    private static <T> T locked(Lock l, Op<T> op) throws FsException {
        l.lock();
        try {
            return op.run();
        } finally {
            l.unlock();
        }
    }
}
