package dev.layerfs.core.nativeio;

import java.nio.ByteBuffer;
import jnr.ffi.Pointer;
import jnr.ffi.annotations.Encoding;
import jnr.ffi.annotations.In;
import jnr.ffi.annotations.Out;
import jnr.ffi.types.size_t;
import jnr.ffi.types.ssize_t;

/**
 * The libc functions layerfs calls that a mount does not need before it is live (those are in
 * {@link StartupLibC}, bound first); {@link Syscalls} binds these on a background thread, or on first use. Public
 * only because jnr generates its implementation elsewhere: use {@link Syscalls}. Every {@code String} here is a byte string (one char per byte, ISO-8859-1): names and paths go
 * to the kernel byte for byte, whatever the JVM's default charset.
 */
@Encoding("ISO-8859-1")
public interface LibC {
    @ssize_t long pread(int fd, @Out Pointer buf, @size_t long count, long offset);

    @ssize_t long pwrite(int fd, @In Pointer buf, @size_t long count, long offset);

    @ssize_t long pread(int fd, @Out ByteBuffer buf, @size_t long count, long offset);

    @ssize_t long pwrite(int fd, @In ByteBuffer buf, @size_t long count, long offset);

    @ssize_t long pread(int fd, @Out byte[] buf, @size_t long count, long offset);

    @ssize_t long pwrite(int fd, @In byte[] buf, @size_t long count, long offset);

    @ssize_t long writev(int fd, Pointer iov, int iovcnt);

    long lseek(int fd, long offset, int whence);

    int ftruncate(int fd, long length);

    int fallocate(int fd, int mode, long offset, long len);

    int fsync(int fd);

    int fdatasync(int fd);

    int mknodat(int dirfd, String path, int mode, long dev);

    int symlinkat(String target, int dirfd, String linkpath);

    @ssize_t long readlinkat(int dirfd, String path, @Out byte[] buf, @size_t long size);

    int linkat(int olddirfd, String oldpath, int newdirfd, String newpath, int flags);

    int unlinkat(int dirfd, String path, int flags);

    int renameat2(int olddirfd, String oldpath, int newdirfd, String newpath, int flags);

    int fchmodat(int dirfd, String path, int mode, int flags);

    int fchmod(int fd, int mode);

    int fchownat(int dirfd, String path, int uid, int gid, int flags);

    int fchown(int fd, int uid, int gid);

    int utimensat(int dirfd, String path, @In long[] times, int flags);

    int futimens(int fd, @In long[] times);

    @ssize_t long getxattr(String path, String name, @Out byte[] value, @size_t long size);

    int lsetxattr(String path, String name, @In byte[] value, @size_t long size, int flags);

    int fsetxattr(int fd, String name, @In byte[] value, @size_t long size, int flags);

    int lremovexattr(String path, String name);

    int ioctl(int fd, long request, int arg);

    @ssize_t long copy_file_range(int fdIn, @In @Out long[] offIn, int fdOut, @In @Out long[] offOut,
            @size_t long len, int flags);

    int fstatvfs(int fd, @Out Pointer buf);

    int umount2(String target, int flags);

    int name_to_handle_at(int dirfd, String path, @In @Out byte[] handle, @Out int[] mountId, int flags);

    int open_by_handle_at(int mountFd, @In byte[] handle, int flags);
}
