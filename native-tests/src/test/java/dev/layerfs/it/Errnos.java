package dev.layerfs.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import dev.layerfs.core.error.Errno;
import dev.layerfs.core.error.FsException;
import dev.layerfs.core.nativeio.Linux;
import dev.layerfs.core.nativeio.Stat;
import dev.layerfs.core.nativeio.Syscalls;
import java.nio.file.Path;

/** Direct system calls on paths (through core's libc binding), for exact errno checks. */
public final class Errnos {
    private Errnos() {}

    @FunctionalInterface
    public interface Call {
        void run() throws FsException;
    }

    /** The call must fail with exactly this errno. */
    public static void assertErrno(Errno expected, Call call) {
        try {
            call.run();
        } catch (FsException e) {
            assertEquals(expected, e.errno(), () -> "wrong errno: " + e.getMessage());
            return;
        }
        fail("expected " + expected + " but the call succeeded");
    }

    static Syscalls sys() {
        return Syscalls.get();
    }

    public static Stat lstat(Path p) throws FsException {
        return sys().lstat(Linux.AT_FDCWD, p.toString());
    }

    public static void rename(Path from, Path to, int flags) throws FsException {
        sys().renameat2(Linux.AT_FDCWD, from.toString(), Linux.AT_FDCWD, to.toString(), flags);
    }

    public static void unlink(Path p) throws FsException {
        sys().unlinkat(Linux.AT_FDCWD, p.toString(), false);
    }

    public static void rmdir(Path p) throws FsException {
        sys().unlinkat(Linux.AT_FDCWD, p.toString(), true);
    }

    public static void mkdir(Path p, int mode) throws FsException {
        sys().mkdirat(Linux.AT_FDCWD, p.toString(), mode);
    }

    public static void link(Path from, Path to) throws FsException {
        sys().linkat(Linux.AT_FDCWD, from.toString(), Linux.AT_FDCWD, to.toString());
    }

    public static void symlink(String target, Path p) throws FsException {
        sys().symlinkat(target, Linux.AT_FDCWD, p.toString());
    }

    public static void mknod(Path p, int mode, long dev) throws FsException {
        sys().mknodat(Linux.AT_FDCWD, p.toString(), mode, dev);
    }

    public static void chmod(Path p, int mode) throws FsException {
        sys().fchmodat(Linux.AT_FDCWD, p.toString(), mode);
    }

    /** open(2) and close again at once. */
    public static void openClose(Path p, int flags, int mode) throws FsException {
        int fd = sys().openat(Linux.AT_FDCWD, p.toString(), flags, mode);
        sys().close(fd);
    }

    public static void setxattr(Path p, String name, String value) throws FsException {
        sys().lsetxattr(Linux.AT_FDCWD, p.toString(), name, value.getBytes(java.nio.charset.StandardCharsets.UTF_8), 0);
    }

    /** A whiteout as the kernel writes it: a character device 0/0. */
    public static boolean isWhiteout(Path p) {
        try {
            Stat st = lstat(p);
            return st.isCharDevice() && st.rdev() == 0;
        } catch (FsException e) {
            return false;
        }
    }

    /** The value of an xattr on a path of a layer (not through the mount), null if absent. */
    public static String getxattr(Path p, String name) throws FsException {
        byte[] v = sys().lgetxattr(Linux.AT_FDCWD, p.toString(), name);
        return v == null ? null : new String(v, java.nio.charset.StandardCharsets.UTF_8);
    }
}
