package dev.layerfs.core.copyup;

import dev.layerfs.core.nativeio.Stat;

/** Told when a merged path has been copied up, so that files open on the lower copy can move to the upper. */
@FunctionalInterface
public interface CopyUpListener {
    void copiedUp(String path);

    /**
     * A merged directory found without an origin record got one (at lookup, as the kernel's ovl_fix_origin): its
     * inode number is now its lower directory's and its parent is impure, as after a copy-up. Nothing to do for
     * open files.
     */
    default void originRecorded(String path) {
    }

    /**
     * A lower hard link was copied up through the inodes index (index=on): files open on that lower object through
     * any of its names can move to the upper copy, the upper object at {@code upperPath}.
     */
    default void copiedUpInode(Stat lower, String upperPath) {
        copiedUp(upperPath);
    }

    /**
     * A regular file at {@code path} got a metadata-only upper copy (metacopy=on): files open on its lower data
     * keep reading it, and their attributes are now the upper copy's.
     */
    default void metacopiedUp(String path) {
    }

    /**
     * As {@link #metacopiedUp}, through the index (index=on): the other names of the lower hard link now show the
     * metadata-only copy too.
     */
    default void metacopiedUpIndexed(String path) {
        metacopiedUp(path);
    }
}
