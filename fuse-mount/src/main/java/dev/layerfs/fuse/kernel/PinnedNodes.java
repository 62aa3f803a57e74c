package dev.layerfs.fuse.kernel;

import dev.layerfs.core.handle.PinnedFile;
import java.util.HashMap;
import java.util.Map;

/**
 * The real objects of nodes that lost their last name while the kernel still held them and that the kernel never
 * opens through the file system (a fifo, a device, a socket, a directory): the kernel asks for their attributes
 * with a plain GETATTR (an fstat of a descriptor it opened itself), and the object, held by an O_PATH descriptor
 * taken before the removal, answers it. A pin goes when the kernel forgets the node.
 */
final class PinnedNodes {
    private final Map<Long, PinnedFile> byNode = new HashMap<>();

    synchronized void pin(long nodeId, PinnedFile f) {
        PinnedFile old = byNode.put(nodeId, f);
        if (old != null) {
            old.close();
        }
    }

    /** The pinned object of a node, or null. */
    synchronized PinnedFile get(long nodeId) {
        return byNode.get(nodeId);
    }

    /** The kernel forgot the node: its pin is closed. */
    synchronized void forgotten(long nodeId) {
        PinnedFile f = byNode.remove(nodeId);
        if (f != null) {
            f.close();
        }
    }
}
