package dev.layerfs.core.nativeio;

import java.nio.ByteBuffer;
import jnr.ffi.Pointer;
import jnr.ffi.annotations.In;
import jnr.ffi.annotations.Out;
import jnr.ffi.types.size_t;
import jnr.ffi.types.ssize_t;

/**
 * The libc functions layerfs calls that a mount does not need before it is live (those are in
 * {@link StartupLibC}, bound first); {@link Syscalls} binds these on a background thread, or on first use. Public
 * only because jnr generates its implementation elsewhere: use {@link Syscalls}. Paths and names are
 * NUL-terminated byte arrays, made by {@link Syscalls} from its byte strings: they go to the kernel byte for
 * byte, whatever the JVM's default charset, and without a charset encoder at every call.
 */
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

    int mknodat(int dirfd, @In byte[] path, int mode, long dev);

    int symlinkat(@In byte[] target, int dirfd, @In byte[] linkpath);

    @ssize_t long readlinkat(int dirfd, @In byte[] path, @Out byte[] buf, @size_t long size);

    int linkat(int olddirfd, @In byte[] oldpath, int newdirfd, @In byte[] newpath, int flags);

    int unlinkat(int dirfd, @In byte[] path, int flags);

    int renameat2(int olddirfd, @In byte[] oldpath, int newdirfd, @In byte[] newpath, int flags);

    int fchmodat(int dirfd, @In byte[] path, int mode, int flags);

    int fchmod(int fd, int mode);

    int fchownat(int dirfd, @In byte[] path, int uid, int gid, int flags);

    int fchown(int fd, int uid, int gid);

    int utimensat(int dirfd, @In byte[] path, @In long[] times, int flags);

    int futimens(int fd, @In long[] times);

    @ssize_t long getxattr(@In byte[] path, @In byte[] name, @Out byte[] value, @size_t long size);

    int lsetxattr(@In byte[] path, @In byte[] name, @In byte[] value, @size_t long size, int flags);

    int fsetxattr(int fd, @In byte[] name, @In byte[] value, @size_t long size, int flags);

    int lremovexattr(@In byte[] path, @In byte[] name);

    int ioctl(int fd, long request, int arg);

    @ssize_t long copy_file_range(int fdIn, @In @Out long[] offIn, int fdOut, @In @Out long[] offOut,
            @size_t long len, int flags);

    int fstatvfs(int fd, @Out Pointer buf);

    int umount2(@In byte[] target, int flags);

    int name_to_handle_at(int dirfd, @In byte[] path, @In @Out byte[] handle, @Out int[] mountId, int flags);

    int open_by_handle_at(int mountFd, @In byte[] handle, int flags);
}
