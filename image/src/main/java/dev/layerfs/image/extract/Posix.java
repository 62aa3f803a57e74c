package dev.layerfs.image.extract;

import java.io.IOException;
import dev.layerfs.image.names.ByteNames;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import jnr.ffi.LibraryLoader;
import jnr.ffi.Runtime;
import jnr.ffi.annotations.In;
import jnr.ffi.annotations.Out;

/**
 * The few system calls that java.nio has no form for: device nodes and fifos (mknod) and extended attributes in
 * any namespace (java.nio reaches only {@code user.*}), always on the link itself, never following a symlink; and
 * symlinks whose target is kept byte for byte (java.nio normalizes a target: {@code a//b/} would become {@code a/b}).
 * Names go to the kernel as the bytes {@link ByteNames} gives, NUL-terminated; xattr names are one char per byte.
 */
public final class Posix {
    /** libc, as jnr-ffi binds it. */
    public interface LibC {
        int mknod(@In byte[] path, int mode, long dev);

        int lchown(@In byte[] path, int uid, int gid);

        int chmod(@In byte[] path, int mode);

        int truncate(@In byte[] path, long length);

        int symlink(@In byte[] target, @In byte[] path);

        long readlink(@In byte[] path, @Out byte[] buf, long size);

        int lsetxattr(@In byte[] path, @In byte[] name, @In byte[] value, long size, int flags);

        long lgetxattr(@In byte[] path, @In byte[] name, @Out byte[] value, long size);

        long llistxattr(@In byte[] path, @Out byte[] list, long size);

        String strerror(int errnum);

        int utimensat(int dirfd, @In byte[] path, @In long[] times, int flags);
    }

    public static final int S_IFIFO = 0010000;
    public static final int S_IFCHR = 0020000;
    public static final int S_IFBLK = 0060000;
    private static final int AT_FDCWD = -100;
    private static final int AT_SYMLINK_NOFOLLOW = 0x100;

    private static final LibC LIBC = LibraryLoader.create(LibC.class).load("c");
    private static final Runtime RUNTIME = Runtime.getRuntime(LIBC);

    private Posix() {}

    /** Creates a device node or fifo ({@code type} one of the S_IF* constants) with the permission bits given. */
    public static void mknod(Path path, int type, int perm, int major, int minor) throws IOException {
        if (LIBC.mknod(ByteNames.cString(path), type | (perm & 07777), makedev(major, minor)) != 0) {
            throw error("mknod", path);
        }
    }

    /** glibc's makedev: the device number the kernel's 64-bit stat shows. */
    static long makedev(long major, long minor) {
        return ((major & 0xfffff000L) << 32) | ((major & 0xfffL) << 8)
                | ((minor & 0xffffff00L) << 12) | (minor & 0xffL);
    }

    /** Sets the owner of the object itself (a symlink's own owner, not its target's). */
    public static void lchown(Path path, int uid, int gid) throws IOException {
        if (LIBC.lchown(ByteNames.cString(path), uid, gid) != 0) {
            throw error("lchown", path);
        }
    }

    /** Sets all twelve mode bits, setuid, setgid and sticky included (java.nio sets only the nine). */
    public static void chmod(Path path, int mode) throws IOException {
        if (LIBC.chmod(ByteNames.cString(path), mode & 07777) != 0) {
            throw error("chmod", path);
        }
    }

    /** Sets a file's length; growing it leaves a hole. */
    public static void truncate(Path path, long length) throws IOException {
        if (LIBC.truncate(ByteNames.cString(path), length) != 0) {
            throw error("truncate", path);
        }
    }

    /**
     * Sets atime and mtime on the object itself, without opening it (java.nio's setTimes opens the file, which
     * blocks on a fifo and fails on a symlink).
     */
    public static void setTimes(Path path, java.time.Instant mtime) throws IOException {
        long[] ts = {mtime.getEpochSecond(), mtime.getNano(), mtime.getEpochSecond(), mtime.getNano()};
        if (LIBC.utimensat(AT_FDCWD, ByteNames.cString(path), ts, AT_SYMLINK_NOFOLLOW) != 0) {
            throw error("utimensat", path);
        }
    }

    /** Makes a symlink whose target is exactly {@code target} (bytes, no NUL). */
    public static void symlink(byte[] target, Path path) throws IOException {
        if (LIBC.symlink(ByteNames.cString(target), ByteNames.cString(path)) != 0) {
            throw error("symlink", path);
        }
    }

    /** A symlink's target, byte for byte. */
    public static byte[] readlink(Path path) throws IOException {
        byte[] cpath = ByteNames.cString(path);
        byte[] buf = new byte[256];
        while (true) {
            long n = LIBC.readlink(cpath, buf, buf.length);
            if (n < 0) {
                throw error("readlink", path);
            }
            if (n < buf.length) {
                return java.util.Arrays.copyOf(buf, (int) n);
            }
            buf = new byte[buf.length * 4];
        }
    }

    /** Sets an extended attribute; {@code name} one char per byte, as {@link #listXattrs} gives it. */
    public static void setXattr(Path path, String name, byte[] value) throws IOException {
        if (LIBC.lsetxattr(ByteNames.cString(path), xattrName(name), value, value.length, 0) != 0) {
            throw error("setxattr " + name, path);
        }
    }

    /** The value of an extended attribute, or null if the object has none of that name. */
    public static byte[] getXattr(Path path, String name) throws IOException {
        byte[] buf = new byte[256];
        byte[] cpath = ByteNames.cString(path);
        byte[] cname = xattrName(name);
        while (true) {
            long n = LIBC.lgetxattr(cpath, cname, buf, buf.length);
            if (n >= 0) {
                return java.util.Arrays.copyOf(buf, (int) n);
            }
            int errno = RUNTIME.getLastError();
            if (errno == 61 /* ENODATA */) {
                return null;
            }
            if (errno != 34 /* ERANGE */ || buf.length > (1 << 20)) {
                throw error("getxattr " + name, path);
            }
            buf = new byte[buf.length * 4];
        }
    }

    /** The names of the object's extended attributes (one char per byte), in the order the filesystem gives them. */
    public static List<String> listXattrs(Path path) throws IOException {
        byte[] buf = new byte[1024];
        long n;
        byte[] cpath = ByteNames.cString(path);
        while ((n = LIBC.llistxattr(cpath, buf, buf.length)) < 0) {
            if (RUNTIME.getLastError() != 34 /* ERANGE */ || buf.length > (1 << 20)) {
                throw error("listxattr", path);
            }
            buf = new byte[buf.length * 4];
        }
        List<String> names = new ArrayList<>();
        int start = 0;
        for (int i = 0; i < n; i++) {
            if (buf[i] == 0) {
                names.add(new String(buf, start, i - start, StandardCharsets.ISO_8859_1));
                start = i + 1;
            }
        }
        return names;
    }

    private static byte[] xattrName(String name) {
        return ByteNames.cString(name.getBytes(StandardCharsets.ISO_8859_1));
    }

    private static IOException error(String call, Path path) {
        int errno = RUNTIME.getLastError();
        if (errno == 17 /* EEXIST */) {
            return new java.nio.file.FileAlreadyExistsException(path.toString(), null,
                    call + ": " + LIBC.strerror(errno));
        }
        return new IOException(call + " " + path + ": " + LIBC.strerror(errno));
    }
}

