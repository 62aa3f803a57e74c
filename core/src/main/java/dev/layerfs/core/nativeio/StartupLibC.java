package dev.layerfs.core.nativeio;

import jnr.ffi.Pointer;
import jnr.ffi.annotations.In;
import jnr.ffi.annotations.Out;
import jnr.ffi.types.size_t;
import jnr.ffi.types.ssize_t;

/**
 * The libc functions a mount calls before it is live (the layers checked and opened, the work directory cleaned,
 * the root looked up and answered), bound first and alone: jnr-ffi generates and binds every method of an
 * interface when it is loaded, and binding costs CPU time per method (the 46 of {@link LibC} and these together
 * took about 150 ms on the path to a mount). Everything else is in {@link LibC}, bound on a background thread or
 * on first use. Public only because jnr generates its implementation elsewhere: use {@link Syscalls}. Paths and
 * names are NUL-terminated byte arrays, as in {@link LibC}.
 */
public interface StartupLibC {
    int openat(int dirfd, @In byte[] path, int flags, int mode);

    int close(int fd);

    int fstatat(int dirfd, @In byte[] path, @Out Pointer buf, int flags);

    int fstat(int fd, @Out Pointer buf);

    int mkdirat(int dirfd, @In byte[] path, int mode);

    @ssize_t long lgetxattr(@In byte[] path, @In byte[] name, @Out byte[] value, @size_t long size);

    @ssize_t long llistxattr(@In byte[] path, @Out byte[] list, @size_t long size);

    int ioctl(int fd, long request, @Out byte[] arg);

    Pointer fdopendir(int fd);

    Pointer readdir(Pointer dir);

    int closedir(Pointer dir);

    int geteuid();

    int getegid();

    int faccessat(int dirfd, @In byte[] path, int mode, int flags);
}
