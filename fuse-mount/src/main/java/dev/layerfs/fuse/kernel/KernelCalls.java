package dev.layerfs.fuse.kernel;

import dev.layerfs.core.error.Errno;
import dev.layerfs.core.error.FsException;
import jnr.ffi.LastError;
import java.nio.ByteBuffer;
import jnr.ffi.LibraryLoader;
import jnr.ffi.Pointer;
import jnr.ffi.Runtime;
import jnr.ffi.annotations.In;
import jnr.ffi.annotations.Out;

/**
 * The system calls the kernel transport needs beyond the engine's libc binding: mount(2), the ioctls on
 * /dev/fuse (clone, passthrough backings), geteuid and getegid, fstatfs(2) for a filesystem's type, an open and
 * close that tell which descriptor number the next open takes, and read(2) and write(2) for requests and replies.
 * Small on purpose (binding cost grows with the interface); to move into core's {@code Syscalls} once the engine
 * side agrees.
 */
final class KernelCalls {
    /** Public only because jnr generates its implementation elsewhere. */
    public interface Native {
        int mount(String source, String target, String type, long flags, String data);

        int ioctl(int fd, long request, @In int[] arg);

        int getegid();

        int geteuid();

        int open(String path, int flags);

        int fstatfs(int fd, @Out long[] buf);

        int close(int fd);

        int madvise(Pointer address, long length, int advice);

        long read(int fd, long address, long count);

        long write(int fd, long address, long count);
    }

    static final long MS_RDONLY = 1;
    static final long MS_NOSUID = 2;
    static final long MS_NODEV = 4;
    private static final int MADV_DONTNEED = 4;
    private static final int O_RDONLY = 0;
    private static final int O_CLOEXEC = 0x80000;
    /** struct statfs on 64-bit Linux: 120 bytes, f_type (a long) first. */
    private static final int STATFS_LONGS = 16;
    private static final long PAGE = 4096;

    private static volatile KernelCalls instance;

    private final Native lib;
    private final Runtime runtime;

    private KernelCalls() {
        lib = LibraryLoader.create(Native.class).failImmediately().load("c");
        runtime = Runtime.getRuntime(lib);
    }

    /** The binding, made on first use (a background thread may make it ahead of the mount). */
    static KernelCalls get() {
        KernelCalls k = instance;
        if (k == null) {
            synchronized (KernelCalls.class) {
                k = instance;
                if (k == null) {
                    k = new KernelCalls();
                    instance = k;
                }
            }
        }
        return k;
    }

    private FsException fail(String op, String what) {
        return FsException.of(Errno.of(LastError.getLastError(runtime)), op, what);
    }

    void mount(String source, String target, String type, long flags, String data) throws FsException {
        if (lib.mount(source, target, type, flags, data) != 0) {
            throw fail("mount", target);
        }
    }

    /** Attaches {@code newFd} (a fresh open of /dev/fuse) to the connection of {@code sessionFd}. */
    void cloneDevice(int newFd, int sessionFd) throws FsException {
        if (lib.ioctl(newFd, FuseAbi.DEV_IOC_CLONE, new int[] {sessionFd}) != 0) {
            throw fail("FUSE_DEV_IOC_CLONE", "fd " + newFd);
        }
    }

    /**
     * Registers the file open at {@code fd} as a passthrough backing on the connection of {@code devFd}; the
     * backing id. Needs CAP_SYS_ADMIN in the initial user namespace; ELOOP where the file lies on a stack deeper
     * than the connection's max_stack_depth allows.
     */
    int backingOpen(int devFd, int fd) throws FsException {
        int[] map = new int[FuseAbi.BackingMap.SIZE / Integer.BYTES];
        map[FuseAbi.BackingMap.FD / Integer.BYTES] = fd;
        int id = lib.ioctl(devFd, FuseAbi.DEV_IOC_BACKING_OPEN, map);
        if (id < 0) {
            throw fail("FUSE_DEV_IOC_BACKING_OPEN", "fd " + fd);
        }
        return id;
    }

    /** Drops a backing id; the kernel keeps the file for the opens that still use it. */
    void backingClose(int devFd, int backingId) {
        lib.ioctl(devFd, FuseAbi.DEV_IOC_BACKING_CLOSE, new int[] {backingId});
    }

    /**
     * The type of the filesystem descriptor {@code fd} lies on (fstatfs(2)'s f_type, a magic number such as
     * 0x794c7630 for an overlay), or -1 where it cannot be told.
     */
    long filesystemType(int fd) {
        long[] buf = new long[STATFS_LONGS];
        return lib.fstatfs(fd, buf) == 0 ? buf[0] : -1;
    }

    /**
     * The number the next open(2) of this process takes where no other thread opens a file first (the lowest
     * free one), or -1.
     */
    int lowestFreeDescriptor() {
        int fd = lib.open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (fd >= 0) {
            lib.close(fd);
        }
        return fd;
    }

    /** Closes a descriptor this process received as a number (one with no Java object to close it). */
    void close(int fd) {
        lib.close(fd);
    }

    /**
     * Gives the whole pages of a direct buffer back to the kernel (MADV_DONTNEED on this process's own anonymous
     * memory): they read as zeros afterwards and take memory again only once written. Where the system's pages are
     * larger than 4 KiB the call fails and the pages simply stay.
     */
    void releasePages(ByteBuffer buffer) {
        long start = Pointer.wrap(runtime, buffer).address();
        long from = (start + PAGE - 1) & -PAGE;
        long to = (start + buffer.capacity()) & -PAGE;
        if (to > from) {
            lib.madvise(Pointer.wrap(runtime, from), to - from, MADV_DONTNEED);
        }
    }

    /** The native address of a direct buffer's first byte. */
    long address(ByteBuffer buffer) {
        return Pointer.wrap(runtime, buffer).address();
    }

    /**
     * read(2) into native memory: the bytes read, or the negated errno. A plain call with numbers only, where a
     * FileChannel's read adds its locks, interrupt bookkeeping and thread set to every request.
     */
    long read(int fd, long address, int count) {
        long n = lib.read(fd, address, count);
        return n < 0 ? -LastError.getLastError(runtime) : n;
    }

    /** write(2) from native memory: the bytes written, or the negated errno. */
    long write(int fd, long address, int count) {
        long n = lib.write(fd, address, count);
        return n < 0 ? -LastError.getLastError(runtime) : n;
    }

    int geteuid() {
        return lib.geteuid();
    }

    int getegid() {
        return lib.getegid();
    }
}
