package dev.layerfs.fuse.kernel;

import dev.layerfs.core.model.Layer;
import dev.layerfs.core.model.LayerStack;
import java.io.IOException;
import java.nio.file.Files;

/**
 * The max_stack_depth a passthrough mount asks for: 1 where every layer lies on a plain filesystem, 2 where one
 * lies on a stacking filesystem (an overlay, a FUSE mount), whose files the kernel refuses as backings (ELOOP)
 * at depth 1. Depth 2 is asked for only then: a mount of depth 2 cannot be a layer of a kernel overlay itself.
 */
final class StackDepth {
    private StackDepth() {}

    static int of(LayerStack stack) {
        for (Layer l : stack.layers()) {
            if (stacked(l)) {
                return 2;
            }
        }
        return 1;
    }

    private static boolean stacked(Layer l) {
        String type;
        try {
            type = Files.getFileStore(l.root()).type();
        } catch (IOException | RuntimeException e) {
            return false;
        }
        return type.equals("overlay") || type.equals("fuse") || type.startsWith("fuse.") || type.equals("fuseblk")
                || type.equals("ecryptfs");
    }
}
