package dev.layerfs.core.nativeio;

import dev.layerfs.core.error.Errno;
import dev.layerfs.core.error.FsException;
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


    private final LibC libc;
    private final Runtime runtime;
    private final StatLayout layout;
    private final ThreadLocal<Pointer> statBuffer;

    private Syscalls() {
        libc = LibraryLoader.create(LibC.class).failImmediately().load("c");
        runtime = Runtime.getRuntime(libc);
        layout = Linux.isAarch64() ? StatLayout.AARCH64 : StatLayout.X86_64;
        statBuffer = ThreadLocal.withInitial(() -> Memory.allocateDirect(runtime, 256));
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

    // ---- files and descriptors ----

    public int openat(int dirfd, String path, int flags, int mode) throws FsException {
        return check(libc.openat(dirfd, rel(path), flags | Linux.O_CLOEXEC, mode), "open", path);
    }

    public void close(int fd) {
        if (fd >= 0) {
            libc.close(fd);
        }
    }

    public int pread(int fd, Pointer buf, int size, long offset) throws FsException {
        return (int) check(libc.pread(fd, buf, size, offset), "read", "fd " + fd);
    }

    public int pwrite(int fd, Pointer buf, int size, long offset) throws FsException {
        return (int) check(libc.pwrite(fd, buf, size, offset), "write", "fd " + fd);
    }

    public int pread(int fd, byte[] buf, int size, long offset) throws FsException {
        return (int) check(libc.pread(fd, buf, size, offset), "read", "fd " + fd);
    }

    public int pwrite(int fd, byte[] buf, int size, long offset) throws FsException {
        return (int) check(libc.pwrite(fd, buf, size, offset), "write", "fd " + fd);
    }

    /** writev of a native iovec array; returns the bytes written, or the negated errno (nothing thrown). */
    public long writev(int fd, Pointer iov, int count) {
        long n = libc.writev(fd, iov, count);
        return n < 0 ? -errno() : n;
    }

    /** lseek; for SEEK_DATA/SEEK_HOLE past the end this returns -1 (the kernel's ENXIO). */
    public long lseek(int fd, long offset, int whence) throws FsException {
        long rc = libc.lseek(fd, offset, whence);
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
        check(libc.ftruncate(fd, length), "truncate", "fd " + fd);
    }

    public void fallocate(int fd, int mode, long offset, long length) throws FsException {
        check(libc.fallocate(fd, mode, offset, length), "fallocate", "fd " + fd);
    }

    public void fsync(int fd, boolean dataOnly) throws FsException {
        check(dataOnly ? libc.fdatasync(fd) : libc.fsync(fd), "fsync", "fd " + fd);
    }

    // ---- metadata ----

    /** lstat relative to a directory: never follows a symbolic link in the last component. */
    public Stat lstat(int dirfd, String path) throws FsException {
        Pointer buf = statBuffer.get();
        check(libc.fstatat(dirfd, rel(path), buf, Linux.AT_SYMLINK_NOFOLLOW), "stat", path);
        return layout.decode(buf);
    }

    /** As {@link #lstat}, but null where the name does not exist (ENOENT, or ENOTDIR for a parent). */
    public Stat lstatIfExists(int dirfd, String path) throws FsException {
        Pointer buf = statBuffer.get();
        if (libc.fstatat(dirfd, rel(path), buf, Linux.AT_SYMLINK_NOFOLLOW) < 0) {
            int e = errno();
            if (e == Errno.ENOENT.code() || e == Errno.ENOTDIR.code()) {
                return null;
            }
            throw FsException.of(Errno.of(e), "stat", path);
        }
        return layout.decode(buf);
    }

    public Stat fstat(int fd) throws FsException {
        Pointer buf = statBuffer.get();
        check(libc.fstat(fd, buf), "fstat", "fd " + fd);
        return layout.decode(buf);
    }

    public void fchmodat(int dirfd, String path, int mode) throws FsException {
        check(libc.fchmodat(dirfd, rel(path), mode, 0), "chmod", path);
    }

    public void fchmod(int fd, int mode) throws FsException {
        check(libc.fchmod(fd, mode), "chmod", "fd " + fd);
    }

    /** lchown relative to a directory; -1 leaves an id unchanged. */
    public void lchownat(int dirfd, String path, int uid, int gid) throws FsException {
        check(libc.fchownat(dirfd, rel(path), uid, gid, Linux.AT_SYMLINK_NOFOLLOW), "chown", path);
    }

    public void fchown(int fd, int uid, int gid) throws FsException {
        check(libc.fchown(fd, uid, gid), "chown", "fd " + fd);
    }

    /** utimensat without following a symbolic link; {@link Timespec#NOW} and {@link Timespec#OMIT} work. */
    public void lutimensat(int dirfd, String path, Timespec atime, Timespec mtime) throws FsException {
        long[] times = {atime.sec(), atime.nsec(), mtime.sec(), mtime.nsec()};
        check(libc.utimensat(dirfd, rel(path), times, Linux.AT_SYMLINK_NOFOLLOW), "utimens", path);
    }

    public void futimens(int fd, Timespec atime, Timespec mtime) throws FsException {
        long[] times = {atime.sec(), atime.nsec(), mtime.sec(), mtime.nsec()};
        check(libc.futimens(fd, times), "utimens", "fd " + fd);
    }

    public StatFs fstatvfs(int fd) throws FsException {
        Pointer b = statBuffer.get();
        check(libc.fstatvfs(fd, b), "statfs", "fd " + fd);
        return new StatFs(b.getLong(0), b.getLong(8), b.getLong(16), b.getLong(24), b.getLong(32), b.getLong(40),
                b.getLong(48), b.getLong(56), b.getLong(64), b.getLong(72), b.getLong(80));
    }

    // ---- namespace ----

    public void mkdirat(int dirfd, String path, int mode) throws FsException {
        check(libc.mkdirat(dirfd, rel(path), mode), "mkdir", path);
    }

    public void mknodat(int dirfd, String path, int mode, long dev) throws FsException {
        check(libc.mknodat(dirfd, rel(path), mode, dev), "mknod", path);
    }

    public void symlinkat(String target, int dirfd, String path) throws FsException {
        check(libc.symlinkat(target, dirfd, rel(path)), "symlink", path);
    }

    public String readlinkat(int dirfd, String path) throws FsException {
        byte[] buf = new byte[256];
        while (true) {
            long n = check(libc.readlinkat(dirfd, rel(path), buf, buf.length), "readlink", path);
            if (n < buf.length) {
                return new String(buf, 0, (int) n, StandardCharsets.UTF_8);
            }
            buf = new byte[buf.length * 4];
        }
    }

    public void linkat(int olddirfd, String oldpath, int newdirfd, String newpath) throws FsException {
        check(libc.linkat(olddirfd, rel(oldpath), newdirfd, rel(newpath), 0), "link", oldpath + " -> " + newpath);
    }

    public void unlinkat(int dirfd, String path, boolean directory) throws FsException {
        check(libc.unlinkat(dirfd, rel(path), directory ? Linux.AT_REMOVEDIR : 0), directory ? "rmdir" : "unlink",
                path);
    }

    public void renameat2(int olddirfd, String oldpath, int newdirfd, String newpath, int flags)
            throws FsException {
        check(libc.renameat2(olddirfd, rel(oldpath), newdirfd, rel(newpath), flags), "rename",
                oldpath + " -> " + newpath);
    }

    // ---- extended attributes (by absolute path, never following a final symbolic link) ----

    /** The value of an xattr, or null where the file does not have it (ENODATA). */
    public byte[] lgetxattr(String path, String name) throws FsException {
        byte[] buf = new byte[256];
        while (true) {
            long n = libc.lgetxattr(path, name, buf, buf.length);
            if (n >= 0) {
                return Arrays.copyOf(buf, (int) n);
            }
            int e = errno();
            if (e == Errno.ENODATA.code()) {
                return null;
            }
            if (e != Errno.ERANGE.code()) {
                throw FsException.of(Errno.of(e), "getxattr " + name, path);
            }
            long size = check(libc.lgetxattr(path, name, null, 0), "getxattr " + name, path);
            buf = new byte[(int) Math.max(size, buf.length * 2L)];
        }
    }

    public void lsetxattr(String path, String name, byte[] value, int flags) throws FsException {
        check(libc.lsetxattr(path, name, value, value.length, flags), "setxattr " + name, path);
    }

    public void lremovexattr(String path, String name) throws FsException {
        check(libc.lremovexattr(path, name), "removexattr " + name, path);
    }

    public List<String> llistxattr(String path) throws FsException {
        byte[] buf = new byte[1024];
        while (true) {
            long n = libc.llistxattr(path, buf, buf.length);
            if (n >= 0) {
                return splitNames(buf, (int) n);
            }
            if (errno() != Errno.ERANGE.code()) {
                throw fail("listxattr", path);
            }
            long size = check(libc.llistxattr(path, null, 0), "listxattr", path);
            buf = new byte[(int) Math.max(size, buf.length * 2L)];
        }
    }

    private static List<String> splitNames(byte[] buf, int length) {
        List<String> names = new ArrayList<>();
        int start = 0;
        for (int i = 0; i < length; i++) {
            if (buf[i] == 0) {
                if (i > start) {
                    names.add(new String(buf, start, i - start, StandardCharsets.UTF_8));
                }
                start = i + 1;
            }
        }
        return names;
    }

    // ---- data copy ----

    /** Shares the source's blocks with the destination (reflink). False where the filesystem cannot. */
    public boolean ficlone(int dstFd, int srcFd) {
        return libc.ioctl(dstFd, Linux.FICLONE, srcFd) == 0;
    }

    /**
     * copy_file_range between explicit offsets. Returns the bytes copied, or -1 where the kernel or filesystem
     * cannot do it for these files (EXDEV, EINVAL, EOPNOTSUPP, ENOSYS), so the caller falls back to read/write.
     */
    public long copyFileRange(int inFd, long inOff, int outFd, long outOff, long len) throws FsException {
        long[] offIn = {inOff};
        long[] offOut = {outOff};
        long n = libc.copy_file_range(inFd, offIn, outFd, offOut, len, 0);
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
        int flags = Linux.O_RDONLY | Linux.O_DIRECTORY | Linux.O_NOFOLLOW;
        int fd = libc.openat(dirfd, rel(path), flags | Linux.O_NOATIME | Linux.O_CLOEXEC, 0);
        if (fd < 0 && errno() == Errno.EPERM.code()) {
            fd = libc.openat(dirfd, rel(path), flags | Linux.O_CLOEXEC, 0);
        }
        check(fd, "opendir", path);
        Pointer dir = libc.fdopendir(fd);
        if (dir == null) {
            FsException e = fail("opendir", path);
            close(fd);
            throw e;
        }
        try {
            List<RawDirent> out = new ArrayList<>();
            Pointer ent;
            while ((ent = libc.readdir(dir)) != null) {
                String name = ent.getString(19, 256, StandardCharsets.UTF_8);
                if (name.equals(".") || name.equals("..")) {
                    continue;
                }
                out.add(new RawDirent(name, ent.getLong(0), ent.getByte(18)));
            }
            return out;
        } finally {
            libc.closedir(dir);
        }
    }

    public int geteuid() {
        return libc.geteuid();
    }

    /** umount2(2); needs CAP_SYS_ADMIN. */
    public void umount(String target) throws FsException {
        check(libc.umount2(target, 0), "umount", target);
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
