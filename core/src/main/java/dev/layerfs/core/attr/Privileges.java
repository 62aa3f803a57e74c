package dev.layerfs.core.attr;

import dev.layerfs.core.error.FsException;
import dev.layerfs.core.nativeio.Linux;
import dev.layerfs.core.nativeio.Stat;
import dev.layerfs.core.nativeio.Syscalls;

/**
 * What a write, a truncate or an {@code O_TRUNC} open by a caller without CAP_FSETID takes from a regular file, as
 * the kernel's {@code setattr_should_drop_suidgid} decides for the kernel overlay: setuid always, setgid where
 * group execution is on (without it setgid marks mandatory locking). {@code security.capability} is not decided
 * here: the real file system removes it at every write, truncate and chown, whoever makes them, the daemon too.
 */
public final class Privileges {
    private Privileges() {}

    /** The mode without what such a change takes away: {@code mode} itself where nothing goes. */
    public static int killed(int mode) {
        if ((mode & Linux.S_IFMT) != Linux.S_IFREG) {
            return mode;
        }
        int kill = mode & Linux.S_ISUID;
        if ((mode & Linux.S_ISGID) != 0 && (mode & 0010) != 0) {
            kill |= Linux.S_ISGID;
        }
        return mode & ~kill;
    }

    /** Takes them from the real file open on {@code fd} (in the upper layer), where it has them. */
    public static void kill(Syscalls sys, int fd) throws FsException {
        kill(sys, fd, sys.fstat(fd));
    }

    /** The same, with the file's attributes already at hand. */
    public static void kill(Syscalls sys, int fd, Stat st) throws FsException {
        int mode = killed(st.mode());
        if (mode != st.mode()) {
            sys.fchmod(fd, mode & Linux.PERMISSION_BITS);
        }
    }
}
