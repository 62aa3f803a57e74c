package dev.layerfs.fuse.kernel;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.ToLongFunction;

/**
 * The nodes that name each inode number, for the regular files of an index=on mount: there the names of a lower
 * hard link not copied up yet are one object to the overlay but nodes of their own to the kernel, and a change
 * through one of them must be told to the others. Finding them costs the number of names of that inode, not a
 * walk of every node. An inode number is here only while some node the kernel holds has it, so the map is no
 * bigger than the node table. Not thread-safe: the node table's lock guards it. It knows a node only as an object
 * with an id, so that it depends on nothing of the table that holds it.
 *
 * @param <N> a node
 */
final class NodesByInode<N> {
    private final Map<Long, List<N>> byIno = new HashMap<>();
    private final ToLongFunction<N> idOf;

    NodesByInode(ToLongFunction<N> idOf) {
        this.idOf = idOf;
    }

    /** A node now has this inode number. */
    void add(long ino, N n) {
        List<N> names = byIno.computeIfAbsent(ino, k -> new ArrayList<>(2));
        if (!names.contains(n)) {
            names.add(n);
        }
    }

    /** A node no longer has this inode number (it changed, or the kernel forgot the node). */
    void remove(long ino, N n) {
        List<N> names = byIno.get(ino);
        if (names != null && names.remove(n) && names.isEmpty()) {
            byIno.remove(ino);
        }
    }

    /** The ids of the nodes with this inode number other than {@code n}. */
    long[] othersThan(long ino, N n) {
        List<N> names = byIno.get(ino);
        if (names == null) {
            return new long[0];
        }
        long[] ids = new long[names.size()];
        int count = 0;
        for (N m : names) {
            if (m != n) {
                ids[count++] = idOf.applyAsLong(m);
            }
        }
        return count == ids.length ? ids : java.util.Arrays.copyOf(ids, count);
    }

    /** How many inode numbers are held. */
    int inodes() {
        return byIno.size();
    }
}
