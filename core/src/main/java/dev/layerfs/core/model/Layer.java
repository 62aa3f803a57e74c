package dev.layerfs.core.model;

import java.nio.file.Path;

/**
 * One real directory of the stack, opened once. Every path the engine hands to the kernel is relative to
 * {@link #fd()} (xattr calls, which have no *at form, go through {@code /proc/self/fd/FD}). So a layer keeps
 * working when the path it was given goes away: container tools hand layers over through a temporary
 * (idmapped) mount that they detach once the mount program has started.
 *
 * @param index position in the stack, 0 being the topmost (the upper layer when there is one)
 * @param root the directory as given
 * @param fd an O_PATH descriptor of the directory
 * @param upper true for the one writable layer
 * @param dev st_dev of the directory, for telling filesystems apart
 */
public record Layer(int index, Path root, int fd, boolean upper, long dev) {
    /** The {@link #index()} of the inodes index directory ({@code WORKDIR/index}), which is not a layer of the stack. */
    public static final int INODES_INDEX = -1;

    /** Whether this is the inodes index directory: the upper copy of a lower hard link whose own name is lower. */
    public boolean isInodesIndex() {
        return index == INODES_INDEX;
    }

    @Override
    public String toString() {
        return (upper ? "upper " : isInodesIndex() ? "index " : "lower ") + root;
    }
}
