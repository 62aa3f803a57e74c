package dev.layerfs.it.fuzz;

import dev.layerfs.core.error.Errno;
import dev.layerfs.core.error.FsException;
import dev.layerfs.core.nativeio.Linux;
import dev.layerfs.core.nativeio.RawDirent;
import dev.layerfs.core.nativeio.Stat;
import dev.layerfs.core.nativeio.Syscalls;
import java.util.List;
import jnr.ffi.LastError;
import jnr.ffi.LibraryLoader;
import jnr.ffi.Runtime;
import jnr.ffi.annotations.In;
import jnr.ffi.annotations.Out;
import jnr.ffi.types.size_t;
import jnr.ffi.types.ssize_t;

/**
 * The system calls the fuzzer makes, each answering a value or {@code -errno} (never throwing): core's
 * {@link Syscalls} for stat and readdir, and a small binding of its own for what core does not offer
 * (openat2 with RESOLVE_BENEATH, truncate, setfsuid/setfsgid, a per-thread setgroups, umask).
 */
final class Sys {
    /** x86_64 system call numbers. */
    private static final long SYS_OPENAT2 = 437;
    private static final long SYS_SETGROUPS = 116;
    private static final long RESOLVE_BENEATH = 0x08;
    private static final long RESOLVE_NO_MAGICLINKS = 0x02;

    /** The libc functions bound here. */
    public interface C {
        long syscall(long nr, int dirfd, String path, @In long[] how, @size_t long size);

        long syscall(long nr, long a, long b);

        int openat(int dirfd, String path, int flags, int mode);

        int close(int fd);

        @ssize_t long pread(int fd, @Out byte[] buf, @size_t long count, long offset);

        @ssize_t long pwrite(int fd, @In byte[] buf, @size_t long count, long offset);

        int ftruncate(int fd, long length);

        int truncate(String path, long length);

        int mkdirat(int dirfd, String path, int mode);

        int mknodat(int dirfd, String path, int mode, long dev);

        int symlinkat(String target, int dirfd, String linkpath);

        int linkat(int olddirfd, String oldpath, int newdirfd, String newpath, int flags);

        int unlinkat(int dirfd, String path, int flags);

        int renameat2(int olddirfd, String oldpath, int newdirfd, String newpath, int flags);

        int fchmodat(int dirfd, String path, int mode, int flags);

        int fchownat(int dirfd, String path, int uid, int gid, int flags);

        int utimensat(int dirfd, String path, @In long[] times, int flags);

        @ssize_t long lgetxattr(String path, String name, @Out byte[] value, @size_t long size);

        int lsetxattr(String path, String name, @In byte[] value, @size_t long size, int flags);

        @ssize_t long llistxattr(String path, @Out byte[] list, @size_t long size);

        int lremovexattr(String path, String name);

        int setfsuid(int uid);

        int setfsgid(int gid);

        int umask(int mask);
    }

    static final C C = LibraryLoader.create(C.class).failImmediately().load("c");
    private static final Runtime RT = Runtime.getRuntime(C);
    static final Syscalls CORE = Syscalls.get();

    private Sys() {}

    static int errno() {
        return LastError.getLastError(RT);
    }

    /** rc, or -errno where rc is negative. */
    static int rc(long rc) {
        return rc < 0 ? -errno() : (int) Math.min(rc, Integer.MAX_VALUE);
    }

    /** The symbolic name of an errno ("EACCES"), or "E" + number. */
    static String errName(int errno) {
        try {
            return Errno.of(errno).name();
        } catch (RuntimeException e) {
            return "E" + errno;
        }
    }

    /**
     * openat2(dirfd, path, flags, mode, RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS): never leaves dirfd's tree. EAGAIN
     * (a ".." met while any rename or mount happened anywhere on the machine, so its safety could not be proven)
     * is retried: it says nothing about the file systems compared.
     */
    static int openBeneath(int dirfd, String path, int flags, int mode) {
        long[] how = {flags | Linux.O_CLOEXEC, (flags & (Linux.O_CREAT | 020000000)) != 0 ? mode : 0,
            RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS};
        int rc = 0;
        for (int attempt = 0; attempt < 1000; attempt++) {
            rc = rc(C.syscall(SYS_OPENAT2, dirfd, path, how, 24));
            if (rc != -11) {
                return rc;
            }
            Thread.onSpinWait();
        }
        return rc;
    }

    /** Drops the calling thread's supplementary groups (the raw system call: only this thread). */
    static int dropGroupsOfThisThread() {
        return rc(C.syscall(SYS_SETGROUPS, 0, 0));
    }

    static void close(int fd) {
        if (fd >= 0) {
            C.close(fd);
        }
    }

    /** lstat, or null with the errno in err[0]. */
    static Stat lstat(int dirfd, String path, int[] err) {
        try {
            return CORE.lstat(dirfd, path);
        } catch (FsException e) {
            err[0] = e.errno().code();
            return null;
        }
    }

    static Stat fstat(int fd, int[] err) {
        try {
            return CORE.fstat(fd);
        } catch (FsException e) {
            err[0] = e.errno().code();
            return null;
        }
    }

    static List<RawDirent> readdir(int dirfd, String path, int[] err) {
        try {
            return CORE.readdir(dirfd, path);
        } catch (FsException e) {
            err[0] = e.errno().code();
            return null;
        }
    }

    static String readlink(int dirfd, String path, int[] err) {
        try {
            return CORE.readlinkat(dirfd, path);
        } catch (FsException e) {
            err[0] = e.errno().code();
            return null;
        }
    }

    /** The path naming an open descriptor (a magic link: the fuzzer never lets the filesystem resolve it). */
    static String fdPath(int fd) {
        return "/proc/self/fd/" + fd;
    }

    static String typeName(int mode) {
        return switch (mode & Linux.S_IFMT) {
            case Linux.S_IFREG -> "f";
            case Linux.S_IFDIR -> "d";
            case Linux.S_IFLNK -> "l";
            case Linux.S_IFIFO -> "p";
            case Linux.S_IFCHR -> "c";
            case Linux.S_IFBLK -> "b";
            case Linux.S_IFSOCK -> "s";
            default -> "?";
        };
    }
}
