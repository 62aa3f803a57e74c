package dev.layerfs.fuse.kernel;

import dev.layerfs.core.model.Layer;
import dev.layerfs.core.model.LayerStack;
import java.util.Set;

/**
 * The max_stack_depth a passthrough mount asks for: 1 where every layer lies on a plain filesystem, 2 where one
 * lies on a stacking filesystem (an overlay, a FUSE mount), whose files the kernel refuses as backings (ELOOP)
 * at depth 1. Depth 2 is asked for only then: a mount of depth 2 cannot be a layer of a kernel overlay itself.
 */
final class StackDepth {
    /** statfs(2) types: overlay, FUSE (fuse and fuseblk alike), ecryptfs. */
    private static final Set<Long> STACKING = Set.of(0x794c7630L, 0x65735546L, 0xf15fL);

    private StackDepth() {}

    static int of(LayerStack stack) {
        for (Layer l : stack.layers()) {
            if (stacked(l)) {
                return 2;
            }
        }
        return 1;
    }

    /**
     * From the filesystem type of the layer's open directory (one fstatfs(2)); a layer whose type cannot be told
     * counts as plain.
     */
    private static boolean stacked(Layer l) {
        return STACKING.contains(KernelCalls.get().filesystemType(l.fd()));
    }
}
