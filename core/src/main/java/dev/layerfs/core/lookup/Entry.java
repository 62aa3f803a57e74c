package dev.layerfs.core.lookup;

import dev.layerfs.core.error.Errno;
import dev.layerfs.core.error.FsException;
import dev.layerfs.core.model.OverlayPaths;
import dev.layerfs.core.nativeio.Stat;
import java.util.List;

/**
 * The result of looking a merged path up: which real objects make it (topmost first: one for a non-directory,
 * every merged layer for a directory), or, for a miss, why there is nothing and what stands in the upper layer.
 * A miss still carries its parent, so that a create can use it.
 */
public final class Entry {
    /** What the upper layer holds where a name is whited out. */
    public enum UpperWhiteout {
        NONE, DEVICE, AUFS_FILE
    }

    private final Entry parent;
    private final String path;
    private final List<RealPath> reals;
    private final boolean whitedOut;
    private final UpperWhiteout upperWhiteout;
    /** How many invalidations the {@link Lookup} that made it had seen: see {@link Lookup#isCurrent}. */
    private final long generation;

    Entry(Entry parent, String path, List<RealPath> reals, boolean whitedOut, UpperWhiteout upperWhiteout,
            long generation) {
        this.parent = parent;
        this.path = path;
        this.reals = List.copyOf(reals);
        this.whitedOut = whitedOut;
        this.upperWhiteout = upperWhiteout;
        this.generation = generation;
    }

    long generation() {
        return generation;
    }

    /** The parent directory's entry; null for the root. */
    public Entry parent() {
        return parent;
    }

    public String path() {
        return path;
    }

    public String name() {
        return OverlayPaths.name(path);
    }

    public boolean isRoot() {
        return path.isEmpty();
    }

    public boolean exists() {
        return !reals.isEmpty();
    }

    /** The real objects, topmost first; empty for a miss. */
    public List<RealPath> reals() {
        return reals;
    }

    /** The topmost real object: the one whose data and attributes the merged view shows. */
    public RealPath top() {
        return reals.get(0);
    }

    public Stat stat() {
        return top().stat();
    }

    /** A metadata-only copy (metacopy=on): its attributes are the top object's, its data {@link #data()}'s. */
    public boolean isMetacopy() {
        return exists() && !top().stat().isDirectory() && top().markers().metacopy();
    }

    /** The real object holding the data: the lowest real object of a metadata-only copy, else the top one. */
    public RealPath data() {
        return isMetacopy() ? reals.get(reals.size() - 1) : top();
    }

    public boolean isDirectory() {
        return exists() && top().stat().isDirectory();
    }

    public boolean hasUpper() {
        return exists() && top().isUpper();
    }

    /**
     * A lower hard link shown through the inodes index (index=on): another of its names was copied up, and this one
     * shows that upper inode, whose name here is still only in the lower layer.
     */
    public boolean isIndexed() {
        return exists() && top().layer().isInodesIndex();
    }

    /** The lowest real object: for a non-directory, the lower one its upper copy, if any, came from. */
    public RealPath bottom() {
        return reals.get(reals.size() - 1);
    }

    /** A directory made of more than one real directory (the kernel's "merge" type). */
    public boolean isMergedDirectory() {
        return isDirectory() && reals.size() > 1;
    }

    /** Only the upper layer holds it: it can be moved or removed without a trace in the lower layers. */
    public boolean isPureUpper() {
        return reals.size() == 1 && top().isUpper();
    }

    /** A miss caused by a whiteout (in any layer), as opposed to a name no layer has. */
    public boolean isWhitedOut() {
        return whitedOut;
    }

    public UpperWhiteout upperWhiteout() {
        return upperWhiteout;
    }

    public Entry requireExists(String op) throws FsException {
        if (!exists()) {
            throw FsException.of(Errno.ENOENT, op, "/" + path);
        }
        return this;
    }

    public Entry requireDirectory(String op) throws FsException {
        requireExists(op);
        if (!isDirectory()) {
            throw FsException.of(Errno.ENOTDIR, op, "/" + path);
        }
        return this;
    }

    public Entry requireAbsent(String op) throws FsException {
        if (exists()) {
            throw FsException.of(Errno.EEXIST, op, "/" + path);
        }
        return this;
    }

    @Override
    public String toString() {
        return "/" + path + (exists() ? " " + reals.stream().map(r -> r.layer().toString()).toList()
                : whitedOut ? " (whited out)" : " (absent)");
    }
}
