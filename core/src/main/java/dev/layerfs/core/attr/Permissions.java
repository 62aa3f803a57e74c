package dev.layerfs.core.attr;

import dev.layerfs.core.model.Caller;
import dev.layerfs.core.nativeio.Linux;
import dev.layerfs.core.nativeio.Stat;

/**
 * The classic Unix permission check for access(2): root may read and write anything and execute what has an
 * execute bit (or is a directory); everyone else gets the owner, group or other bits. Only the caller's
 * primary group is known here (FUSE passes no supplementary groups); a mount with default_permissions lets the
 * kernel check instead, with every group.
 */
public final class Permissions {
    private Permissions() {}

    public static boolean allows(Stat st, Caller caller, int mask) {
        int mode = st.mode();
        if (caller.isRoot()) {
            return (mask & Linux.X_OK) == 0 || st.isDirectory() || (mode & 0111) != 0;
        }
        return granted(st, caller.uid(), caller.gid() == st.gid(), mask);
    }

    /**
     * The same for a caller who is not root, user {@code uid} in {@code groups} (its own and its supplementary
     * groups, where the transport knows them).
     */
    public static boolean allows(Stat st, int uid, Privileges.Groups groups, int mask) {
        return granted(st, uid, groups.contains(st.gid()), mask);
    }

    /** The owner's, the group's or the others' bits, whichever class the caller falls in, grant all of mask. */
    private static boolean granted(Stat st, int uid, boolean inGroup, int mask) {
        int mode = st.mode();
        int bits;
        if (uid == st.uid()) {
            bits = (mode >> 6) & 7;
        } else if (inGroup) {
            bits = (mode >> 3) & 7;
        } else {
            bits = mode & 7;
        }
        return (bits & mask) == mask;
    }
}
