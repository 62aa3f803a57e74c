package dev.layerfs.core;

import dev.layerfs.core.attr.Attributes;
import dev.layerfs.core.attr.Permissions;
import dev.layerfs.core.attr.Xattrs;
import dev.layerfs.core.copyup.CopyUp;
import dev.layerfs.core.copyup.WorkDir;
import dev.layerfs.core.error.Errno;
import dev.layerfs.core.error.FsException;
import dev.layerfs.core.handle.OpenFile;
import dev.layerfs.core.handle.OpenFiles;
import dev.layerfs.core.handle.PinnedFile;
import dev.layerfs.core.lookup.Entry;
import dev.layerfs.core.lookup.Lookup;
import dev.layerfs.core.model.Caller;
import dev.layerfs.core.model.IdMapping;
import dev.layerfs.core.model.ConfigException;
import dev.layerfs.core.model.InodeNumbers;
import dev.layerfs.core.model.LayerStack;
import dev.layerfs.core.model.OverlayConfig;
import dev.layerfs.core.model.OverlayPaths;
import dev.layerfs.core.nativeio.Linux;
import dev.layerfs.core.nativeio.Stat;
import dev.layerfs.core.nativeio.StatFs;
import dev.layerfs.core.nativeio.Syscalls;
import dev.layerfs.core.nativeio.Timespec;
import dev.layerfs.core.ops.Creation;
import dev.layerfs.core.ops.Engine;
import dev.layerfs.core.ops.Removal;
import dev.layerfs.core.ops.Rename;
import dev.layerfs.core.ops.UpperWriter;
import dev.layerfs.core.readdir.DirEntry;
import dev.layerfs.core.readdir.MergedDirectory;
import dev.layerfs.core.whiteout.WhiteoutCodec;
import java.io.Closeable;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.Lock;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * A merged view of a layer stack, with every filesystem operation of the kernel overlay. Paths are merged-view
 * paths ("/a/b" or "a/b"). Failures are {@link FsException}s carrying the errno the kernel overlay gives.
 *
 * <p>Concurrency: operations that change the namespace or copy up take one write lock; lookups, stats and
 * listings share a read lock; reads and writes on open files take none (they go straight to the real
 * descriptor).
 */
public final class Overlay implements Closeable {
    /** statvfs's f_flag bit for a read-only filesystem. */
    private static final long ST_RDONLY = 1;

    private final LayerStack stack;
    private final Engine engine;
    private final WorkDir work;
    private final Attributes attributes;
    private final Xattrs xattrs;
    private final Creation creation;
    private final Removal removal;
    private final Rename rename;
    private final boolean fsync;
    private final IdMapping ids;
    private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
    private final Syscalls sys = Syscalls.get();
    private final AtomicBoolean closed = new AtomicBoolean();

    private Overlay(LayerStack stack, WorkDir work, boolean fsync, IdMapping ids) {
        this.ids = ids;
        this.stack = stack;
        this.work = work;
        this.fsync = fsync;
        WhiteoutCodec whiteouts = new WhiteoutCodec();
        InodeNumbers inodes = new InodeNumbers(stack);
        Lookup lookup = new Lookup(stack, whiteouts);
        OpenFiles openFiles = new OpenFiles();
        CopyUp copyUp = null;
        UpperWriter writer = null;
        if (stack.upper().isPresent()) {
            openFiles.setUpper(stack.upper().get());
            copyUp = new CopyUp(stack, lookup, work, openFiles, ids);
            writer = new UpperWriter(stack.upper().get(), work, whiteouts);
        }
        MergedDirectory directories = new MergedDirectory(whiteouts, inodes);
        lookup.onInvalidate(directories::invalidate);
        this.engine = new Engine(stack, lookup, whiteouts, directories, openFiles, copyUp, writer);
        this.attributes = new Attributes(engine, inodes, ids);
        this.xattrs = new Xattrs(engine);
        this.creation = new Creation(engine, ids);
        this.removal = new Removal(engine);
        this.rename = new Rename(engine);
    }

    /**
     * Checks and opens a layer stack. With an upper layer, {@code WORKDIR/work} is created or emptied; nothing
     * else is written.
     */
    public static Overlay open(OverlayConfig config) throws ConfigException {
        LayerStack stack = LayerStack.open(config);
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
        return new Overlay(stack, work, config.fsync(), config.ids());
    }

    public LayerStack stack() {
        return stack;
    }

    public boolean readOnly() {
        return stack.readOnly();
    }

    // ---- lookup and attributes ----

    public Stat getattr(String path) throws FsException {
        String p = OverlayPaths.normalize(path);
        return read(() -> attributes.stat(engine.lookup().existing(p, "stat")));
    }

    /** The merged listing of a directory, without "." and ".." (unmodifiable; cached until the directory changes). */
    public List<DirEntry> readdir(String path) throws FsException {
        String p = OverlayPaths.normalize(path);
        return read(() -> engine.directories().list(engine.lookup().resolve(p).requireDirectory("readdir")));
    }

    public String readlink(String path) throws FsException {
        String p = OverlayPaths.normalize(path);
        return read(() -> {
            Entry e = engine.lookup().existing(p, "readlink");
            if (!e.stat().isSymlink()) {
                throw FsException.of(Errno.EINVAL, "readlink", "/" + p);
            }
            return sys.readlinkat(e.top().layer().fd(), e.top().path());
        });
    }

    /** access(2) for a caller; W_OK on a read-only overlay is EROFS. */
    public void access(String path, int mask, Caller caller) throws FsException {
        String p = OverlayPaths.normalize(path);
        Stat st = getattr(p);
        if ((mask & Linux.W_OK) != 0 && readOnly()) {
            throw FsException.of(Errno.EROFS, "access", "/" + p);
        }
        if (!Permissions.allows(st, caller, mask & 7)) {
            throw FsException.of(Errno.EACCES, "access", "/" + p);
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

    public void chmod(String path, int mode) throws FsException {
        String p = OverlayPaths.normalize(path);
        change(() -> attributes.chmod(p, mode), p);
    }

    public void chown(String path, int uid, int gid) throws FsException {
        String p = OverlayPaths.normalize(path);
        change(() -> attributes.chown(p, uid, gid), p);
    }

    public void utimens(String path, Timespec atime, Timespec mtime) throws FsException {
        String p = OverlayPaths.normalize(path);
        change(() -> attributes.utimens(p, atime, mtime), p);
    }

    public void truncate(String path, long size) throws FsException {
        String p = OverlayPaths.normalize(path);
        change(() -> attributes.truncate(p, size), p);
    }

    public byte[] getxattr(String path, String name) throws FsException {
        String p = OverlayPaths.normalize(path);
        return read(() -> xattrs.get(p, name));
    }

    public List<String> listxattr(String path) throws FsException {
        String p = OverlayPaths.normalize(path);
        return read(() -> xattrs.list(p));
    }

    public void setxattr(String path, String name, byte[] value, int flags) throws FsException {
        String p = OverlayPaths.normalize(path);
        change(() -> xattrs.set(p, name, value, flags), p);
    }

    public void removexattr(String path, String name) throws FsException {
        String p = OverlayPaths.normalize(path);
        change(() -> xattrs.remove(p, name), p);
    }

    // ---- namespace ----

    public void mkdir(String path, int mode, Caller caller) throws FsException {
        String p = OverlayPaths.normalize(path);
        change(() -> creation.mkdir(p, mode, caller), p);
    }

    public void mknod(String path, int mode, long rdev, Caller caller) throws FsException {
        String p = OverlayPaths.normalize(path);
        change(() -> creation.mknod(p, mode, rdev, caller), p);
    }

    public void symlink(String target, String path, Caller caller) throws FsException {
        String p = OverlayPaths.normalize(path);
        change(() -> creation.symlink(target, p, caller), p);
    }

    public void link(String from, String to) throws FsException {
        String f = OverlayPaths.normalize(from);
        String t = OverlayPaths.normalize(to);
        change(() -> creation.link(f, t), f, t);
    }

    public void unlink(String path) throws FsException {
        String p = OverlayPaths.normalize(path);
        change(() -> removal.unlink(p), p);
    }

    public void rmdir(String path) throws FsException {
        String p = OverlayPaths.normalize(path);
        change(() -> removal.rmdir(p), p);
    }

    /** rename, with 0, RENAME_NOREPLACE or RENAME_EXCHANGE. */
    public void rename(String from, String to, int flags) throws FsException {
        String f = OverlayPaths.normalize(from);
        String t = OverlayPaths.normalize(to);
        change(() -> rename.rename(f, t, flags), f, t);
    }

    // ---- open files ----

    /**
     * Opens a file. Reading stays on the layer that has the file; O_WRONLY, O_RDWR or O_TRUNC copy it up first.
     * With O_CREAT a missing file is created (owned by {@code caller}); O_CREAT|O_EXCL on an existing name is
     * EEXIST.
     */
    public OpenFile open(String path, int flags, int mode, Caller caller) throws FsException {
        String p = OverlayPaths.normalize(path);
        if ((flags & Linux.O_CREAT) != 0) {
            OpenFile created = write(() -> {
                Entry e = engine.lookup().resolve(p);
                if (e.exists()) {
                    if ((flags & Linux.O_EXCL) != 0) {
                        throw FsException.of(Errno.EEXIST, "create", "/" + p);
                    }
                    return null;
                }
                int fd = creation.createFile(e, realFlags(flags), mode, caller);
                engine.lookup().invalidate(p);
                return new OpenFile(p, flags, fd, stack.upper().orElseThrow());
            });
            if (created != null) {
                return created;
            }
        }
        // Registered under the lock that found the file on a lower layer, so no copy-up can slip in between.
        Op<OpenFile> op = () -> {
            OpenFile opened = openExisting(p, flags, caller);
            engine.openFiles().opened(opened);
            return opened;
        };
        return Linux.opensForWrite(flags) ? write(op) : read(op);
    }

    /** Opens an existing file with flags without O_CREAT, for root. */
    public OpenFile open(String path, int flags) throws FsException {
        return open(path, flags & ~Linux.O_CREAT, 0, Caller.ROOT);
    }

    private OpenFile openExisting(String p, int flags, Caller caller) throws FsException {
        Entry e = engine.lookup().existing(p, "open");
        boolean forWrite = Linux.opensForWrite(flags);
        if (e.isDirectory()) {
            if (forWrite) {
                throw FsException.of(Errno.EISDIR, "open", "/" + p);
            }
        } else if (e.stat().isSymlink()) {
            throw FsException.of(Errno.ELOOP, "open", "/" + p);
        }
        if (forWrite) {
            engine.requireWritable("open", p);
            boolean truncating = (flags & Linux.O_TRUNC) != 0;
            e = engine.copyUp().copyUp(e, !truncating);
        }
        int real = realFlags(flags) | Linux.O_NOFOLLOW;
        if (!e.hasUpper()) {
            real |= Linux.O_NOATIME;
        }
        int fd;
        try {
            fd = sys.openat(e.top().layer().fd(), e.top().path(), real, 0);
        } catch (FsException ex) {
            if (ex.errno() != Errno.EPERM || (real & Linux.O_NOATIME) == 0) {
                throw ex;
            }
            fd = sys.openat(e.top().layer().fd(), e.top().path(), real & ~Linux.O_NOATIME, 0);
        }
        if ((flags & Linux.O_TRUNC) != 0 && !privileged(caller)) {
            killPrivileges(fd, e.stat().mode());
        }
        return new OpenFile(p, flags, fd, e.top().layer());
    }

    /**
     * Whether a caller is taken to hold CAP_FSETID: root, or, with an id mapping, the id that stands for root in
     * the layers (a container's root, whose capabilities count over the files its namespace maps).
     */
    private boolean privileged(Caller caller) {
        return caller.isRoot() || (!ids.isIdentity() && ids.storedUid(caller.uid()) == 0);
    }

    /**
     * An open with O_TRUNC by a caller without CAP_FSETID clears setuid, and setgid where group execution is on,
     * as the kernel's do_truncate does. Through FUSE with atomic_o_trunc the kernel leaves this to the file system:
     * the truncation happens inside OPEN and the kernel sends no SETATTR for the mode.
     */
    private void killPrivileges(int fd, int mode) throws FsException {
        int kill = mode & Linux.S_ISUID;
        if ((mode & Linux.S_ISGID) != 0 && (mode & 0010) != 0) {
            kill |= Linux.S_ISGID;
        }
        if (kill != 0 && (mode & Linux.S_IFMT) == Linux.S_IFREG) {
            sys.fchmod(fd, mode & 07777 & ~kill);
        }
    }

    private static int realFlags(int flags) {
        return flags & (Linux.O_ACCMODE | Linux.O_APPEND | Linux.O_TRUNC | Linux.O_NONBLOCK | Linux.O_DIRECT
                | 04010000 /* O_SYNC */ | 010000 /* O_DSYNC */ | Linux.O_NOATIME);
    }

    /** Reads into a native buffer (FUSE's); returns the bytes read, 0 at the end. */
    public int read(OpenFile f, jnr.ffi.Pointer buf, int size, long offset) throws FsException {
        return sys.pread(f.fd(), buf, size, offset);
    }

    /** Writes from a native buffer (FUSE's); returns the bytes written. */
    public int write(OpenFile f, jnr.ffi.Pointer buf, int size, long offset) throws FsException {
        return sys.pwrite(f.fd(), buf, size, offset);
    }

    public int read(OpenFile f, byte[] buf, int size, long offset) throws FsException {
        return sys.pread(f.fd(), buf, size, offset);
    }

    public int write(OpenFile f, byte[] buf, int size, long offset) throws FsException {
        return sys.pwrite(f.fd(), buf, size, offset);
    }

    public void ftruncate(OpenFile f, long size) throws FsException {
        requireWritableHandle(f, "ftruncate");
        sys.ftruncate(f.fd(), size);
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
        return attributes.stat(f.layer(), sys.fstat(f.fd()), false);
    }

    /**
     * Holds on to the real file behind a path (which must not be a directory), so that {@link #fstat(PinnedFile)}
     * still answers after the name is removed. Close it when done.
     */
    public PinnedFile pin(String path) throws FsException {
        String p = OverlayPaths.normalize(path);
        return read(() -> {
            Entry e = engine.lookup().existing(p, "pin");
            int fd = sys.openat(e.top().layer().fd(), e.top().path(), Linux.O_PATH | Linux.O_NOFOLLOW, 0);
            return new PinnedFile(fd, e.top().layer());
        });
    }

    public Stat fstat(PinnedFile f) throws FsException {
        return attributes.stat(f.layer(), sys.fstat(f.fd()), false);
    }

    public void release(OpenFile f) {
        engine.openFiles().released(f);
    }

    private static void requireWritableHandle(OpenFile f, String op) throws FsException {
        if ((f.flags() & Linux.O_ACCMODE) == Linux.O_RDONLY) {
            throw FsException.of(Errno.EBADF, op, "/" + f.path());
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
        stack.close();
    }

    // ---- locking ----

    @FunctionalInterface
    private interface Op<T> {
        T run() throws FsException;
    }

    @FunctionalInterface
    private interface VoidOp {
        void run() throws FsException;
    }

    private <T> T read(Op<T> op) throws FsException {
        return locked(lock.readLock(), op);
    }

    private <T> T write(Op<T> op) throws FsException {
        return locked(lock.writeLock(), op);
    }

    /** Runs a change under the write lock, then drops what the lookup cache holds for the paths it touched. */
    private void change(VoidOp op, String... touched) throws FsException {
        locked(lock.writeLock(), () -> {
            try {
                op.run();
            } finally {
                for (String path : touched) {
                    engine.lookup().invalidate(path);
                }
            }
            return null;
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
