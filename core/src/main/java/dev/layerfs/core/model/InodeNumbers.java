package dev.layerfs.core.model;

import java.util.HashMap;
import java.util.Map;

/**
 * The inode numbers the merged view reports. Where every layer lies on one filesystem, the real numbers are
 * unique already and are passed through. Where layers span filesystems, the top bits say which filesystem the
 * number came from (as the kernel's xino does), so that two real files never share a number.
 */
public final class InodeNumbers {
    private static final int FS_BITS = 8;
    private static final long LOW_MASK = (1L << (64 - FS_BITS)) - 1;

    private final boolean passThrough;
    private final Map<Long, Integer> fsIndex = new HashMap<>();

    public InodeNumbers(LayerStack stack) {
        this.passThrough = stack.singleFilesystem();
        for (Layer l : stack.layers()) {
            fsIndex.putIfAbsent(l.dev(), fsIndex.size());
        }
    }

    public long of(Layer layer, long realIno) {
        if (passThrough) {
            return realIno;
        }
        return (realIno & LOW_MASK) | ((long) fsIndex.get(layer.dev()) << (64 - FS_BITS));
    }
}
