package dev.layerfs.it.fuzz;

import dev.layerfs.core.error.Errno;
import dev.layerfs.core.error.FsException;
import dev.layerfs.core.nativeio.Linux;
import dev.layerfs.core.nativeio.RawDirent;
import dev.layerfs.core.nativeio.Stat;
import dev.layerfs.core.nativeio.Syscalls;
import java.util.ArrayList;
import java.util.List;
import jnr.ffi.LastError;
import jnr.ffi.LibraryLoader;
import jnr.ffi.Memory;
import jnr.ffi.Pointer;
import jnr.ffi.Runtime;
import jnr.ffi.annotations.Encoding;
import jnr.ffi.annotations.In;
import jnr.ffi.annotations.Out;
import jnr.ffi.types.size_t;
import jnr.ffi.types.ssize_t;

/**
 * The system calls the fuzzer makes, each answering a value or {@code -errno} (never throwing): core's
 * {@link Syscalls} for stat, readdir, readlink and the xattr names, and a small binding of its own for what core
 * does not offer (openat2 with RESOLVE_BENEATH, truncate, setfsuid/setfsgid, a per-thread setgroups, umask) or
 * offers only with checks of its own. Every path and name is a byte string ({@link ByteNames}), as in core: one
 * char per byte, passed to libc as ISO-8859-1, so that no name passes through a charset on its way in or out.
 */
final class Sys {
    /** x86_64 system call numbers. */
    private static final long SYS_OPENAT2 = 437;
    private static final long SYS_SETGROUPS = 116;
    private static final long RESOLVE_BENEATH = 0x08;
    private static final long RESOLVE_NO_MAGICLINKS = 0x02;

    /**
     * The libc functions bound here. Every String is a byte string ({@link ByteNames}): passed as ISO-8859-1, one
     * byte a char, so a name that is not UTF-8 reaches the system call as it is (jnr's default, UTF-8, would turn
     * each such byte into U+FFFD's three bytes).
     */
    public interface C {
        long syscall(long nr, int dirfd, @Encoding(BYTES) String path, @In long[] how, @size_t long size);

        long syscall(long nr, long a, long b);

        int openat(int dirfd, @Encoding(BYTES) String path, int flags, int mode);

        int close(int fd);

        @ssize_t long pread(int fd, Pointer buf, @size_t long count, long offset);

        @ssize_t long pwrite(int fd, Pointer buf, @size_t long count, long offset);

        int ftruncate(int fd, long length);

        int fchmod(int fd, int mode);

        int truncate(@Encoding(BYTES) String path, long length);

        int mkdirat(int dirfd, @Encoding(BYTES) String path, int mode);

        int mknodat(int dirfd, @Encoding(BYTES) String path, int mode, long dev);

        int symlinkat(@Encoding(BYTES) String target, int dirfd, @Encoding(BYTES) String linkpath);

        int linkat(int olddirfd, @Encoding(BYTES) String oldpath, int newdirfd, @Encoding(BYTES) String newpath,
                int flags);

        int unlinkat(int dirfd, @Encoding(BYTES) String path, int flags);

        int renameat2(int olddirfd, @Encoding(BYTES) String oldpath, int newdirfd, @Encoding(BYTES) String newpath,
                int flags);

        int fchmodat(int dirfd, @Encoding(BYTES) String path, int mode, int flags);

        int fchownat(int dirfd, @Encoding(BYTES) String path, int uid, int gid, int flags);

        int utimensat(int dirfd, @Encoding(BYTES) String path, @In long[] times, int flags);

        @ssize_t long lgetxattr(@Encoding(BYTES) String path, @Encoding(BYTES) String name, @Out byte[] value,
                @size_t long size);

        int lsetxattr(@Encoding(BYTES) String path, @Encoding(BYTES) String name, @In byte[] value,
                @size_t long size, int flags);

        int lremovexattr(@Encoding(BYTES) String path, @Encoding(BYTES) String name);

        int setfsuid(int uid);

        int setfsgid(int gid);

        int umask(int mask);
    }

    /** The charset of byte strings. */
    static final String BYTES = "ISO-8859-1";

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

    /** lstat, or null with the errno in err[0]: the object itself, never following a final link. */
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

    /** The entries of a directory (not "." and ".."), without following a final link; null with the errno. */
    static List<RawDirent> readdir(int dirfd, String path, int[] err) {
        try {
            return CORE.readdir(dirfd, path);
        } catch (FsException e) {
            err[0] = e.errno().code();
            return null;
        }
    }

    /** A symbolic link's target, or null with the errno in err[0]. */
    static String readlink(int dirfd, String path, int[] err) {
        try {
            return CORE.readlinkat(dirfd, path);
        } catch (FsException e) {
            err[0] = e.errno().code();
            return null;
        }
    }

    /** The xattr names of an object itself (not following a final link), sorted; null with the errno. */
    static List<String> xattrNames(int dirfd, String path, int[] err) {
        try {
            List<String> names = new ArrayList<>(CORE.llistxattr(dirfd, path));
            names.sort(null);
            return names;
        } catch (FsException e) {
            err[0] = e.errno().code();
            return null;
        }
    }

    /**
     * Native memory whose address is a multiple of 4,096, for I/O on descriptors opened with O_DIRECT (jnr copies a
     * byte[] into temporary memory of no particular alignment). One per thread, {@link #IO_BUFFER} bytes.
     */
    static Pointer alignedBuffer() {
        return ALIGNED.get();
    }

    static final int IO_BUFFER = 1 << 20;
    private static final ThreadLocal<Pointer> ALIGNED = ThreadLocal.withInitial(() -> {
        Pointer p = Memory.allocateDirect(RT, IO_BUFFER + 2 * 4096);
        long skip = (4096 - (p.address() % 4096)) % 4096;
        return p.slice(skip, IO_BUFFER + 4096);
    });

    /** pread into the aligned buffer at memory offset {@code mem}; the bytes read, or -errno. */
    static int pread(int fd, byte[] into, int mem, int len, long offset) {
        Pointer p = alignedBuffer();
        int n = rc(C.pread(fd, p.slice(mem), len, offset));
        if (n > 0) {
            p.get(mem, into, 0, n);
        }
        return n;
    }

    /** pwrite from the aligned buffer at memory offset {@code mem}; the bytes written, or -errno. */
    static int pwrite(int fd, byte[] data, int mem, long offset) {
        Pointer p = alignedBuffer();
        p.put(mem, data, 0, data.length);
        return rc(C.pwrite(fd, p.slice(mem), data.length, offset));
    }

    /**
     * Opens a directory below dirfd as an O_PATH descriptor, one component of the path (a byte string) at a time and
     * following no link, so that a path of any length opens: a descriptor, or -errno.
     */
    static int openDirectory(int dirfd, String path) {
        int fd = dirfd;
        for (String c : path.split("/")) {
            if (c.isEmpty()) {
                continue;
            }
            int next = rc(C.openat(fd, c, Linux.O_PATH | Linux.O_DIRECTORY | Linux.O_NOFOLLOW | Linux.O_CLOEXEC, 0));
            if (fd != dirfd) {
                close(fd);
            }
            if (next < 0) {
                return next;
            }
            fd = next;
        }
        return fd == dirfd ? rc(C.openat(dirfd, ".", Linux.O_PATH | Linux.O_DIRECTORY | Linux.O_CLOEXEC, 0)) : fd;
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
