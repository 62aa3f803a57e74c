package dev.layerfs.core.nativeio;

import dev.layerfs.core.bytes.ByteString;
import dev.layerfs.core.error.Errno;
import dev.layerfs.core.error.FsException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import jnr.ffi.LastError;
import jnr.ffi.LibraryLoader;
import jnr.ffi.Memory;
import jnr.ffi.Pointer;
import jnr.ffi.Runtime;

/**
 * The one binding to libc. Every native call of layerfs goes through here; a failing call becomes an
 * {@link FsException} carrying the errno and naming the operation and path. Nothing else touches native memory.
 */
public final class Syscalls {
    private static final Syscalls INSTANCE = new Syscalls();


    private final StartupLibC boot;
    private final Runtime runtime;
    private final StatLayout layout;
    private final ThreadLocal<Pointer> statBuffer;

    private Syscalls() {
        boot = LibraryLoader.create(StartupLibC.class).failImmediately().load("c");
        runtime = Runtime.getRuntime(boot);
        layout = Linux.isAarch64() ? StatLayout.AARCH64 : StatLayout.X86_64;
        statBuffer = ThreadLocal.withInitial(() -> Memory.allocateDirect(runtime, 256));
    }

    /**
     * Binds the rest of libc ({@link LibC}) on a background thread, unless a call has already needed it: a mount
     * calls this once it is live, so that its first requests do not wait for the binding, and the binding does
     * not compete with the path to a live mount (on a machine with two cores it cost about 50 ms of CPU there).
     */
    public void bindRestInBackground() {
        Thread t = new Thread(Rest::bind, "libc-bind");
        t.setDaemon(true);
        t.start();
    }

    /**
     * The rest of libc ({@link LibC}), bound when this class is first initialised: by
     * {@link #bindRestInBackground} or by the first call that needs it, whichever comes first (the JVM runs a
     * class's initialiser once; a caller meanwhile waits for it). A constant once bound, as the one binding was.
     */
    private static final class Rest {
        static final LibC LIBC = LibraryLoader.create(LibC.class).failImmediately().load("c");

        private Rest() {}

        static void bind() {
            // Initialising the class binds.
        }
    }

    private static LibC libc() {
        return Rest.LIBC;
    }

    public static Syscalls get() {
        return INSTANCE;
    }

    /** The jnr runtime, for callers that hand native buffers to us (the FUSE adapter). */
    public Runtime runtime() {
        return runtime;
    }

    private int errno() {
        return LastError.getLastError(runtime);
    }

    private FsException fail(String op, String path) {
        return FsException.of(Errno.of(errno()), op, path);
    }

    private int check(int rc, String op, String path) throws FsException {
        if (rc < 0) {
            throw fail(op, path);
        }
        return rc;
    }

    private long check(long rc, String op, String path) throws FsException {
        if (rc < 0) {
            throw fail(op, path);
        }
        return rc;
    }

    private static String rel(String path) {
        return path.isEmpty() ? "." : path;
    }

    /**
     * A byte string (one char per byte) as the kernel takes it: its bytes, then a NUL. Cheaper than a String
     * argument, which jnr encodes through a CharsetEncoder at every call.
     */
    @SuppressWarnings("deprecation") // String.getBytes(int, int, byte[], int): each char's low byte, as wanted here
    private static byte[] c(String s) {
        // Paths are Strings of ISO-8859-1 chars (one per byte of the name), so each char's low byte is that byte;
        // one array, the NUL already in place.
        byte[] b = new byte[s.length() + 1];
        s.getBytes(0, s.length(), b, 0);
        return b;
    }

    // ---- paths of any length ----

    /**
     * The longest path handed to the kernel in one call. The kernel refuses a path of PATH_MAX (4,096) bytes or
     * more, with its NUL; a layer path can be longer (a merged path of up to PATH_MAX below the mount root, plus
     * {@code .wh.} or a parent's prefix), so longer ones are walked a stretch at a time through directory
     * descriptors ({@link #at}).
     */
    static final int MAX_PATH_AT_ONCE = 4000;

    /** One *at system call on a directory descriptor and a path short enough to pass; returns its result. */
    @FunctionalInterface
    private interface AtCall {
        long call(int dirfd, byte[] path);
    }

    /** A system call on two directory descriptors and paths. */
    @FunctionalInterface
    private interface AtCall2 {
        long call(int dirfd1, byte[] path1, int dirfd2, byte[] path2);
    }

    /**
     * Runs {@code call} on {@code path} relative to {@code dirfd}, returning its result or the negated errno. A
     * path too long for one call is reached through its leading directories, opened a stretch of at most
     * {@link #MAX_PATH_AT_ONCE} bytes at a time (each an O_PATH descriptor, closed after the call). The engine's
     * paths name real directories it has looked up (never a symbolic link), so the walk resolves the same
     * objects one call would.
     */
    private long at(int dirfd, String path, AtCall call) {
        if (path.length() <= MAX_PATH_AT_ONCE) {
            long rc = call.call(dirfd, c(rel(path)));
            return rc < 0 ? -errno() : rc;
        }
        Walk w = walk(dirfd, path);
        if (w.error != 0) {
            return -w.error;
        }
        try {
            long rc = call.call(w.fd, c(w.rest));
            return rc < 0 ? -errno() : rc;
        } finally {
            w.close();
        }
    }

    /** As {@link #at}, for calls that name two objects (link, rename). */
    private long at2(int dirfd1, String path1, int dirfd2, String path2, AtCall2 call) {
        if (path1.length() <= MAX_PATH_AT_ONCE && path2.length() <= MAX_PATH_AT_ONCE) {
            long rc = call.call(dirfd1, c(rel(path1)), dirfd2, c(rel(path2)));
            return rc < 0 ? -errno() : rc;
        }
        Walk w1 = walk(dirfd1, path1);
        if (w1.error != 0) {
            return -w1.error;
        }
        try {
            Walk w2 = walk(dirfd2, path2);
            if (w2.error != 0) {
                return -w2.error;
            }
            try {
                long rc = call.call(w1.fd, c(w1.rest), w2.fd, c(w2.rest));
                return rc < 0 ? -errno() : rc;
            } finally {
                w2.close();
            }
        } finally {
            w1.close();
        }
    }

    /** Where a walk down a long path ended: a descriptor (owned where it is not the one given) and the rest. */
    private final class Walk {
        int fd;
        boolean owned;
        String rest;
        int error;

        void close() {
            if (owned) {
                boot.close(fd);
            }
        }
    }

    private Walk walk(int dirfd, String path) {
        Walk w = new Walk();
        w.fd = dirfd;
        w.rest = path;
        while (w.rest.length() > MAX_PATH_AT_ONCE) {
            int cut = w.rest.lastIndexOf('/', MAX_PATH_AT_ONCE);
            if (cut <= 0) {
                w.close();
                w.error = Errno.ENAMETOOLONG.code();
                return w;
            }
            int next = boot.openat(w.fd, c(w.rest.substring(0, cut)),
                    Linux.O_PATH | Linux.O_DIRECTORY | Linux.O_NOFOLLOW | Linux.O_CLOEXEC, 0);
            if (next < 0) {
                int e = errno();
                w.close();
                w.error = e;
                return w;
            }
            w.close();
            w.fd = next;
            w.owned = true;
            w.rest = w.rest.substring(cut + 1);
        }
        return w;
    }

    /** As {@link #check(int, String, String)} for a call on a descriptor: the message is made only on failure. */
    private long checkFd(long rc, String op, int fd) throws FsException {
        if (rc < 0) {
            throw fail(op, "fd " + fd);
        }
        return rc;
    }

    /** As {@link #checkAt}, for an xattr call: {@code op} is followed by the xattr's name, on failure only. */
    private static long checkXattr(long rc, String op, String name, String path) throws FsException {
        if (rc < 0) {
            throw FsException.of(Errno.of((int) -rc), op + ByteString.display(name), ByteString.display(path));
        }
        return rc;
    }

    /** {@code rc} from {@link #at}: the result, or an FsException for a negated errno. */
    private static long checkAt(long rc, String op, String path) throws FsException {
        if (rc < 0) {
            throw FsException.of(Errno.of((int) -rc), op, ByteString.display(path));
        }
        return rc;
    }

    // ---- files and descriptors ----

    public int openat(int dirfd, String path, int flags, int mode) throws FsException {
        int f = flags | Linux.O_CLOEXEC;
        return (int) checkAt(at(dirfd, path, (d, p) -> boot.openat(d, p, f, mode)), "open", path);
    }

    /**
     * Opens without touching the object's atime (O_NOATIME) where the kernel allows it: lower layers are never
     * written, not even their atimes. O_NOATIME is refused (EPERM) to a daemon that neither owns the file nor has
     * CAP_FOWNER; then the open is made without it.
     */
    public int openNoAtime(int dirfd, String path, int flags) throws FsException {
        int f = flags | Linux.O_CLOEXEC;
        long fd = at(dirfd, path, (d, p) -> boot.openat(d, p, f | Linux.O_NOATIME, 0));
        if (fd == -Errno.EPERM.code()) {
            fd = at(dirfd, path, (d, p) -> boot.openat(d, p, f, 0));
        }
        return (int) checkAt(fd, "open", path);
    }

    public void close(int fd) {
        if (fd >= 0) {
            boot.close(fd);
        }
    }

    /**
     * pread into a direct buffer, from its position up to its limit; the position moves past what was read.
     * Returns the bytes read, 0 at the end of the file.
     */
    public int pread(int fd, ByteBuffer buf, long offset) throws FsException {
        int n = (int) checkFd(libc().pread(fd, buf, buf.remaining(), offset), "read", fd);
        buf.position(buf.position() + n);
        return n;
    }

    /** pwrite from a direct buffer, its position up to its limit; the position moves past what was written. */
    public int pwrite(int fd, ByteBuffer buf, long offset) throws FsException {
        int n = (int) checkFd(libc().pwrite(fd, buf, buf.remaining(), offset), "write", fd);
        buf.position(buf.position() + n);
        return n;
    }

    public int pread(int fd, byte[] buf, int size, long offset) throws FsException {
        return (int) checkFd(libc().pread(fd, buf, size, offset), "read", fd);
    }

    public int pwrite(int fd, byte[] buf, int size, long offset) throws FsException {
        return (int) checkFd(libc().pwrite(fd, buf, size, offset), "write", fd);
    }

    /** writev of a native iovec array; returns the bytes written, or the negated errno (nothing thrown). */
    public long writev(int fd, Pointer iov, int count) {
        long n = libc().writev(fd, iov, count);
        return n < 0 ? -errno() : n;
    }

    /** lseek; for SEEK_DATA/SEEK_HOLE past the end this returns -1 (the kernel's ENXIO). */
    public long lseek(int fd, long offset, int whence) throws FsException {
        long rc = libc().lseek(fd, offset, whence);
        if (rc < 0) {
            int e = errno();
            if (e == Errno.ENXIO.code()) {
                return -1;
            }
            throw FsException.of(Errno.of(e), "lseek", "fd " + fd);
        }
        return rc;
    }

    public void ftruncate(int fd, long length) throws FsException {
        checkFd(libc().ftruncate(fd, length), "truncate", fd);
    }

    public void fallocate(int fd, int mode, long offset, long length) throws FsException {
        checkFd(libc().fallocate(fd, mode, offset, length), "fallocate", fd);
    }

    public void fsync(int fd, boolean dataOnly) throws FsException {
        checkFd(dataOnly ? libc().fdatasync(fd) : libc().fsync(fd), "fsync", fd);
    }

    // ---- metadata ----

    /** lstat relative to a directory: never follows a symbolic link in the last component. */
    public Stat lstat(int dirfd, String path) throws FsException {
        Pointer buf = statBuffer.get();
        checkAt(fstatat(dirfd, path, buf, Linux.AT_SYMLINK_NOFOLLOW), "stat", path);
        return layout.decode(buf);
    }

    /** stat relative to a directory, following symbolic links (for paths given by the user, such as layers). */
    public Stat stat(int dirfd, String path) throws FsException {
        Pointer buf = statBuffer.get();
        checkAt(fstatat(dirfd, path, buf, 0), "stat", path);
        return layout.decode(buf);
    }

    /** As {@link #lstat}, but null where the name does not exist (ENOENT, or ENOTDIR for a parent). */
    public Stat lstatIfExists(int dirfd, String path) throws FsException {
        Pointer buf = statBuffer.get();
        long rc = fstatat(dirfd, path, buf, Linux.AT_SYMLINK_NOFOLLOW);
        if (rc == -Errno.ENOENT.code() || rc == -Errno.ENOTDIR.code()) {
            return null;
        }
        checkAt(rc, "stat", path);
        return layout.decode(buf);
    }

    /**
     * fstatat into {@code buf}, as {@link #at} runs it; a path short enough for one call is passed without the
     * call object {@link #at} takes (the engine stats on every request).
     */
    private long fstatat(int dirfd, String path, Pointer buf, int flags) {
        if (path.length() <= MAX_PATH_AT_ONCE) {
            int rc = boot.fstatat(dirfd, c(rel(path)), buf, flags);
            return rc < 0 ? -errno() : rc;
        }
        return at(dirfd, path, (d, p) -> boot.fstatat(d, p, buf, flags));
    }

    public Stat fstat(int fd) throws FsException {
        Pointer buf = statBuffer.get();
        checkFd(boot.fstat(fd, buf), "fstat", fd);
        return layout.decode(buf);
    }

    /** faccessat with the daemon's effective ids: whether it may {@code mode} (R_OK, W_OK, X_OK) the object. */
    public void accessat(int dirfd, String path, int mode) throws FsException {
        checkAt(at(dirfd, path, (d, p) -> boot.faccessat(d, p, mode, Linux.AT_EACCESS)), "access", path);
    }

    public void fchmodat(int dirfd, String path, int mode) throws FsException {
        checkAt(at(dirfd, path, (d, p) -> libc().fchmodat(d, p, mode, 0)), "chmod", path);
    }

    public void fchmod(int fd, int mode) throws FsException {
        checkFd(libc().fchmod(fd, mode), "chmod", fd);
    }

    /** lchown relative to a directory; -1 leaves an id unchanged. */
    public void lchownat(int dirfd, String path, int uid, int gid) throws FsException {
        checkAt(at(dirfd, path, (d, p) -> libc().fchownat(d, p, uid, gid, Linux.AT_SYMLINK_NOFOLLOW)), "chown",
                path);
    }

    public void fchown(int fd, int uid, int gid) throws FsException {
        checkFd(libc().fchown(fd, uid, gid), "chown", fd);
    }

    /** utimensat without following a symbolic link; {@link Timespec#NOW} and {@link Timespec#OMIT} work. */
    public void lutimensat(int dirfd, String path, Timespec atime, Timespec mtime) throws FsException {
        long[] times = {atime.sec(), atime.nsec(), mtime.sec(), mtime.nsec()};
        checkAt(at(dirfd, path, (d, p) -> libc().utimensat(d, p, times, Linux.AT_SYMLINK_NOFOLLOW)), "utimens",
                path);
    }

    public void futimens(int fd, Timespec atime, Timespec mtime) throws FsException {
        long[] times = {atime.sec(), atime.nsec(), mtime.sec(), mtime.nsec()};
        checkFd(libc().futimens(fd, times), "utimens", fd);
    }

    public StatFs fstatvfs(int fd) throws FsException {
        Pointer b = statBuffer.get();
        checkFd(libc().fstatvfs(fd, b), "statfs", fd);
        return new StatFs(b.getLong(0), b.getLong(8), b.getLong(16), b.getLong(24), b.getLong(32), b.getLong(40),
                b.getLong(48), b.getLong(56), b.getLong(64), b.getLong(72), b.getLong(80));
    }

    // ---- namespace ----

    public void mkdirat(int dirfd, String path, int mode) throws FsException {
        checkAt(at(dirfd, path, (d, p) -> boot.mkdirat(d, p, mode)), "mkdir", path);
    }

    public void mknodat(int dirfd, String path, int mode, long dev) throws FsException {
        checkAt(at(dirfd, path, (d, p) -> libc().mknodat(d, p, mode, dev)), "mknod", path);
    }

    /** symlinkat; {@code target} is a byte string, stored as it is. */
    public void symlinkat(String target, int dirfd, String path) throws FsException {
        byte[] t = c(target);
        checkAt(at(dirfd, path, (d, p) -> libc().symlinkat(t, d, p)), "symlink", path);
    }

    /** The target of a symbolic link, as a byte string. */
    public String readlinkat(int dirfd, String path) throws FsException {
        byte[] buf = new byte[256];
        while (true) {
            byte[] b = buf;
            long n = checkAt(at(dirfd, path, (d, p) -> libc().readlinkat(d, p, b, b.length)), "readlink", path);
            if (n < buf.length) {
                return new String(buf, 0, (int) n, StandardCharsets.ISO_8859_1);
            }
            buf = new byte[buf.length * 4];
        }
    }

    public void linkat(int olddirfd, String oldpath, int newdirfd, String newpath) throws FsException {
        long rc = at2(olddirfd, oldpath, newdirfd, newpath, (d1, p1, d2, p2) -> libc().linkat(d1, p1, d2, p2, 0));
        checkAt(rc, "link", oldpath + " -> " + newpath);
    }

    public void unlinkat(int dirfd, String path, boolean directory) throws FsException {
        int flags = directory ? Linux.AT_REMOVEDIR : 0;
        checkAt(at(dirfd, path, (d, p) -> libc().unlinkat(d, p, flags)), directory ? "rmdir" : "unlink", path);
    }

    public void renameat2(int olddirfd, String oldpath, int newdirfd, String newpath, int flags)
            throws FsException {
        long rc = at2(olddirfd, oldpath, newdirfd, newpath,
                (d1, p1, d2, p2) -> libc().renameat2(d1, p1, d2, p2, flags));
        checkAt(rc, "rename", oldpath + " -> " + newpath);
    }

    // ---- extended attributes ----
    //
    // There is no *at form of the xattr calls before Linux 6.13; the object is named through its directory's
    // descriptor ({@code /proc/self/fd/N/...}), never following a final symbolic link. Names are byte strings.

    /**
     * Runs an xattr call on the object at {@code path} relative to {@code dirfd} (or AT_FDCWD); returns its result
     * or -errno.
     */
    private long xattrAt(int dirfd, String path, XattrCall call) {
        String direct = dirfd == Linux.AT_FDCWD ? path : "/proc/self/fd/" + dirfd + "/" + rel(path);
        if (direct.length() <= MAX_PATH_AT_ONCE) {
            long rc = call.call(c(direct));
            return rc < 0 ? -errno() : rc;
        }
        int slash = path.lastIndexOf('/');
        String parent = path.substring(0, slash);
        String name = path.substring(slash + 1);
        long parentFd = at(dirfd, parent,
                (d, p) -> boot.openat(d, p, Linux.O_PATH | Linux.O_DIRECTORY | Linux.O_NOFOLLOW | Linux.O_CLOEXEC, 0));
        if (parentFd < 0) {
            return parentFd;
        }
        try {
            long rc = call.call(c("/proc/self/fd/" + parentFd + "/" + name));
            return rc < 0 ? -errno() : rc;
        } finally {
            boot.close((int) parentFd);
        }
    }

    /** An xattr system call on a path (NUL-terminated bytes). */
    @FunctionalInterface
    private interface XattrCall {
        long call(byte[] path);
    }

    /** The value of an xattr, or null where the object does not have it (ENODATA). */
    public byte[] lgetxattr(int dirfd, String path, String name) throws FsException {
        byte[] cname = c(name);
        byte[] buf = new byte[256];
        while (true) {
            byte[] b = buf;
            long n = xattrAt(dirfd, path, p -> boot.lgetxattr(p, cname, b, b.length));
            if (n >= 0) {
                return Arrays.copyOf(buf, (int) n);
            }
            if (n == -Errno.ENODATA.code()) {
                return null;
            }
            if (n != -Errno.ERANGE.code()) {
                checkXattr(n, "getxattr ", name, path);
            }
            long size = checkXattr(xattrAt(dirfd, path, p -> boot.lgetxattr(p, cname, null, 0)), "getxattr ", name,
                    path);
            buf = new byte[(int) Math.max(size, buf.length * 2L)];
        }
    }

    public void lsetxattr(int dirfd, String path, String name, byte[] value, int flags) throws FsException {
        byte[] cname = c(name);
        checkXattr(xattrAt(dirfd, path, p -> libc().lsetxattr(p, cname, value, value.length, flags)), "setxattr ",
                name, path);
    }

    /** Sets an xattr of the object an open descriptor (not O_PATH) holds. */
    public void fsetxattr(int fd, String name, byte[] value, int flags) throws FsException {
        if (libc().fsetxattr(fd, c(name), value, value.length, flags) < 0) {
            throw FsException.of(Errno.of(errno()), "setxattr " + ByteString.display(name), "fd " + fd);
        }
    }

    public void lremovexattr(int dirfd, String path, String name) throws FsException {
        byte[] cname = c(name);
        checkXattr(xattrAt(dirfd, path, p -> libc().lremovexattr(p, cname)), "removexattr ", name, path);
    }

    /** The names of an object's xattrs, as byte strings. */
    public List<String> llistxattr(int dirfd, String path) throws FsException {
        byte[] buf = new byte[1024];
        while (true) {
            byte[] b = buf;
            long n = xattrAt(dirfd, path, p -> boot.llistxattr(p, b, b.length));
            if (n >= 0) {
                return splitNames(buf, (int) n);
            }
            if (n != -Errno.ERANGE.code()) {
                checkAt(n, "listxattr", path);
            }
            long size = checkAt(xattrAt(dirfd, path, p -> boot.llistxattr(p, null, 0)), "listxattr", path);
            buf = new byte[(int) Math.max(size, buf.length * 2L)];
        }
    }

    private static List<String> splitNames(byte[] buf, int length) {
        List<String> names = new ArrayList<>();
        int start = 0;
        for (int i = 0; i < length; i++) {
            if (buf[i] == 0) {
                if (i > start) {
                    names.add(new String(buf, start, i - start, StandardCharsets.ISO_8859_1));
                }
                start = i + 1;
            }
        }
        return names;
    }

    // ---- file handles (the kernel overlay's origin records) ----

    /**
     * name_to_handle_at of an object (not following a final symbolic link): the handle's type followed by its
     * bytes, or null where the filesystem cannot make handles (EOPNOTSUPP) or the object is gone.
     */
    public FileHandle nameToHandle(int dirfd, String path) throws FsException {
        byte[] handle = new byte[8 + FileHandle.MAX_BYTES];
        int[] mountId = new int[1];
        ByteBuffer.wrap(handle).order(ByteOrder.nativeOrder()).putInt(0, FileHandle.MAX_BYTES);
        long rc = at(dirfd, path, (d, p) -> libc().name_to_handle_at(d, p, handle, mountId, 0));
        if (rc == -Errno.EOPNOTSUPP.code() || rc == -Errno.ENOENT.code() || rc == -Errno.EOVERFLOW.code()) {
            return null;
        }
        checkAt(rc, "name_to_handle_at", path);
        ByteBuffer b = ByteBuffer.wrap(handle).order(ByteOrder.nativeOrder());
        int bytes = b.getInt(0);
        return new FileHandle(b.getInt(4), Arrays.copyOfRange(handle, 8, 8 + bytes));
    }

    /**
     * The stat of the object a handle names, on the filesystem of {@code mountFd}; null where no such object
     * exists any more (ESTALE). EPERM says the daemon may not decode handles (open_by_handle_at needs
     * CAP_DAC_READ_SEARCH in the initial user namespace).
     */
    public Stat statByHandle(int mountFd, FileHandle h) throws FsException {
        byte[] handle = new byte[8 + h.bytes().length];
        ByteBuffer.wrap(handle).order(ByteOrder.nativeOrder()).putInt(0, h.bytes().length).putInt(4, h.type());
        System.arraycopy(h.bytes(), 0, handle, 8, h.bytes().length);
        int fd = libc().open_by_handle_at(mountFd, handle, Linux.O_PATH | Linux.O_CLOEXEC);
        if (fd < 0) {
            int e = errno();
            if (e == Errno.ESTALE.code()) {
                return null;
            }
            throw FsException.of(Errno.of(e), "open_by_handle_at", "fd " + mountFd);
        }
        try {
            return fstat(fd);
        } finally {
            boot.close(fd);
        }
    }

    /** The UUID of the filesystem a directory lies on (FS_IOC_GETFSUUID, Linux 6.5), or null where not told. */
    public byte[] filesystemUuid(int dirfd) {
        int fd = boot.openat(dirfd, c("."), Linux.O_RDONLY | Linux.O_DIRECTORY | Linux.O_CLOEXEC, 0);
        if (fd < 0) {
            return null;
        }
        try {
            byte[] buf = new byte[17];
            if (boot.ioctl(fd, Linux.FS_IOC_GETFSUUID, buf) != 0 || buf[0] != 16) {
                return null;
            }
            return Arrays.copyOfRange(buf, 1, 17);
        } finally {
            boot.close(fd);
        }
    }

    /** The value of an xattr of the object an open descriptor (of any kind, O_PATH too) holds, or null. */
    public byte[] fgetxattr(int fd, String name) throws FsException {
        String proc = "/proc/self/fd/" + fd;
        byte[] cproc = c(proc);
        byte[] cname = c(name);
        byte[] buf = new byte[256];
        long n = libc().getxattr(cproc, cname, buf, buf.length);
        if (n < 0 && errno() == Errno.ERANGE.code()) {
            long size = check(libc().getxattr(cproc, cname, null, 0), "getxattr " + ByteString.display(name), proc);
            buf = new byte[(int) size];
            n = libc().getxattr(cproc, cname, buf, buf.length);
        }
        if (n < 0) {
            int e = errno();
            if (e == Errno.ENODATA.code()) {
                return null;
            }
            throw FsException.of(Errno.of(e), "getxattr " + ByteString.display(name), proc);
        }
        return Arrays.copyOf(buf, (int) n);
    }

    // ---- data copy ----

    /** Shares the source's blocks with the destination (reflink). False where the filesystem cannot. */
    public boolean ficlone(int dstFd, int srcFd) {
        return libc().ioctl(dstFd, Linux.FICLONE, srcFd) == 0;
    }

    /**
     * copy_file_range between explicit offsets. Returns the bytes copied, or -1 where the kernel or filesystem
     * cannot do it for these files (EXDEV, EINVAL, EOPNOTSUPP, ENOSYS), so the caller falls back to read/write.
     */
    public long copyFileRange(int inFd, long inOff, int outFd, long outOff, long len) throws FsException {
        long[] offIn = {inOff};
        long[] offOut = {outOff};
        long n = libc().copy_file_range(inFd, offIn, outFd, offOut, len, 0);
        if (n < 0) {
            int e = errno();
            if (e == Errno.EXDEV.code() || e == Errno.EINVAL.code() || e == Errno.EOPNOTSUPP.code()
                    || e == Errno.ENOSYS.code() || e == Errno.EBADF.code()) {
                return -1;
            }
            throw FsException.of(Errno.of(e), "copy_file_range", "fd " + inFd);
        }
        return n;
    }

    // ---- directories ----

    /**
     * The entries of a directory (without "." and ".."), opened without following a symbolic link and, where
     * permitted, without touching its atime (lower layers are never written, not even their atimes).
     */
    public List<RawDirent> readdir(int dirfd, String path) throws FsException {
        int fd = openNoAtime(dirfd, path, Linux.O_RDONLY | Linux.O_DIRECTORY | Linux.O_NOFOLLOW);
        Pointer dir = boot.fdopendir(fd);
        if (dir == null) {
            FsException e = fail("opendir", ByteString.display(path));
            close(fd);
            throw e;
        }
        try {
            List<RawDirent> out = new ArrayList<>();
            Pointer ent;
            while ((ent = boot.readdir(dir)) != null) {
                String name = ent.getString(19, 256, StandardCharsets.ISO_8859_1);
                if (name.equals(".") || name.equals("..")) {
                    continue;
                }
                out.add(new RawDirent(name, ent.getLong(0), ent.getByte(18)));
            }
            return out;
        } finally {
            boot.closedir(dir);
        }
    }

    public int geteuid() {
        return boot.geteuid();
    }

    public int getegid() {
        return boot.getegid();
    }

    /** umount2(2); needs CAP_SYS_ADMIN. */
    public void umount(String target) throws FsException {
        check(libc().umount2(c(target), 0), "umount", target);
    }

    /** Where each field of struct stat lies, for the two 64-bit Linux ABIs layerfs runs on. */
    private enum StatLayout {
        X86_64(16, true, 24, 28, 32, 40, 48, 56, 64, 72),
        AARCH64(20, false, 16, 24, 28, 32, 48, 56, 64, 72);

        final int nlink;
        final boolean nlinkIsLong;
        final int mode;
        final int uid;
        final int gid;
        final int rdev;
        final int size;
        final int blksize;
        final int blocks;
        final int atime;

        StatLayout(int nlink, boolean nlinkIsLong, int mode, int uid, int gid, int rdev, int size, int blksize,
                int blocks, int atime) {
            this.nlink = nlink;
            this.nlinkIsLong = nlinkIsLong;
            this.mode = mode;
            this.uid = uid;
            this.gid = gid;
            this.rdev = rdev;
            this.size = size;
            this.blksize = blksize;
            this.blocks = blocks;
            this.atime = atime;
        }

        Stat decode(Pointer b) {
            long blk = this == X86_64 ? b.getLong(blksize) : b.getInt(blksize);
            return new Stat(
                    b.getLong(0), b.getLong(8), b.getInt(mode),
                    nlinkIsLong ? b.getLong(nlink) : Integer.toUnsignedLong(b.getInt(nlink)),
                    b.getInt(uid), b.getInt(gid), b.getLong(rdev), b.getLong(size), blk, b.getLong(blocks),
                    new Timespec(b.getLong(atime), b.getLong(atime + 8)),
                    new Timespec(b.getLong(atime + 16), b.getLong(atime + 24)),
                    new Timespec(b.getLong(atime + 32), b.getLong(atime + 40)));
        }
    }
}
