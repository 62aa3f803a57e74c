package dev.layerfs.core.attr;

import dev.layerfs.core.error.FsException;
import dev.layerfs.core.model.Caller;
import dev.layerfs.core.model.IdMapping;
import dev.layerfs.core.nativeio.Linux;
import dev.layerfs.core.nativeio.Stat;
import dev.layerfs.core.nativeio.Syscalls;

/**
 * What a write, a truncate, an {@code O_TRUNC} open or a chown by a caller without CAP_FSETID takes from a file, as
 * the kernel's {@code setattr_should_drop_suidgid} decides for the kernel overlay: setuid always; setgid where
 * group execution is on, and, without it (where setgid marks mandatory locking), where the caller is not in the
 * file's group. A chown takes them from any file but a directory (the kernel's {@code chown_common}); only a
 * regular file is ever written or truncated. {@code security.capability} is not decided here: the real file
 * system removes it at every write, truncate and chown, whoever makes them, the daemon too.
 */
public final class Privileges {
    private Privileges() {}

    /**
     * The groups of a caller without CAP_FSETID, as the overlay shows groups: its own and its supplementary ones.
     * Where a change is made for such a caller the transport passes these; null stands for a caller holding
     * CAP_FSETID, from whom nothing is taken.
     */
    @FunctionalInterface
    public interface Groups {
        boolean contains(int gid);

        /** A caller whose supplementary groups are not known: taken to be in every group. */
        Groups UNKNOWN = gid -> true;
    }

    /**
     * The mode without what such a change takes away ({@code mode} itself where nothing goes). {@code gid}: the
     * file's stored group, looked for in {@code groups} as the overlay shows it.
     */
    public static int killed(int mode, int gid, Groups groups, IdMapping ids) {
        if ((mode & Linux.S_IFMT) == Linux.S_IFDIR || groups == null) {
            return mode;
        }
        int kill = mode & Linux.S_ISUID;
        if ((mode & Linux.S_ISGID) != 0
                && ((mode & 0010) != 0 || !groups.contains(ids.isIdentity() ? gid : ids.shownGid(gid)))) {
            kill |= Linux.S_ISGID;
        }
        return mode & ~kill;
    }

    /** What the real chown of a file by the daemon (which holds CAP_FSETID) takes: the same, but by anyone. */
    static int killedByChown(int mode) {
        return killed(mode, 0, Groups.UNKNOWN, IdMapping.IDENTITY);
    }

    /** Takes them from the real file open on {@code fd} (in the upper layer), where it has them. */
    public static void kill(Syscalls sys, int fd, Groups groups, IdMapping ids) throws FsException {
        if (groups != null) {
            kill(sys, fd, sys.fstat(fd), groups, ids);
        }
    }

    /** The same, with the file's attributes already at hand. */
    public static void kill(Syscalls sys, int fd, Stat st, Groups groups, IdMapping ids) throws FsException {
        int mode = killed(st.mode(), st.gid(), groups, ids);
        if (mode != st.mode()) {
            sys.fchmod(fd, mode & Linux.PERMISSION_BITS);
        }
    }

    /**
     * Whether a caller is taken to hold CAP_FSETID where the kernel does not say: root, or, with an id mapping, the
     * id that stands for root in the layers (a container's root, whose capabilities count over the files its
     * namespace maps).
     */
    public static boolean privileged(Caller caller, IdMapping ids) {
        return caller.isRoot() || (!ids.isIdentity() && ids.storedUid(caller.uid()) == 0);
    }
}
