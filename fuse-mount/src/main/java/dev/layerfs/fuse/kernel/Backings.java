package dev.layerfs.fuse.kernel;

import dev.layerfs.core.error.Errno;
import dev.layerfs.core.error.FsException;
import dev.layerfs.core.handle.OpenFile;
import dev.layerfs.core.model.Layer;
import dev.layerfs.fuse.kernel.NodeTable.Node;
import java.util.HashMap;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The passthrough backing of each node with open files, counted by its opens. The kernel wants every open of
 * one inode to agree: all of them on one backing file (the same id), or none passed through. So the first open
 * of a node decides (a backing where it is wanted and the kernel accepts the file, else served READ and WRITE
 * requests), later opens follow it, and the backing id is closed with the node's last RELEASE. An open that
 * reaches another real file than the node's backing (the node was passed through on a lower layer and has been
 * copied up since) cannot share it and is refused with {@link #CONFLICT}.
 */
final class Backings {
    private static final Logger LOG = LoggerFactory.getLogger(Backings.class);

    /** Served with READ and WRITE requests: no backing. */
    static final int SERVED = 0;
    /** The node's backing is another real file than this open's. */
    static final int CONFLICT = -1;

    /** Registers and drops backing files on the connection (the /dev/fuse ioctls). */
    interface Device {
        /** A backing id for the real file open at {@code fd}. */
        int open(int fd) throws FsException;

        void close(int backingId);
    }

    /** A node's opens: the backing they share (or {@link #SERVED}), on which layer, and how many they are. */
    private static final class Use {
        final int backingId;
        final Layer layer;
        int opens;

        Use(int backingId, Layer layer) {
            this.backingId = backingId;
            this.layer = layer;
        }
    }

    private final Map<Node, Use> uses = new HashMap<>();
    private volatile Device device;
    private boolean refusalLogged;
    /** The kernel said the daemon may not register backings at all (EPERM): no more attempts. */
    private boolean forbidden;

    /** The connection's device, once mounted; without one every open is served. */
    void attach(Device d) {
        device = d;
    }

    /**
     * One more open of a node: the backing id to answer it with ({@link #SERVED} for none), or {@link #CONFLICT}.
     * A backing is made only where {@code wanted} and the node has no served open. Each answer other than
     * CONFLICT must be matched by one {@link #released}.
     */
    synchronized int opened(Node n, OpenFile f, boolean wanted) {
        Use u = uses.get(n);
        if (u == null) {
            u = new Use(wanted ? register(f) : SERVED, f.layer());
            uses.put(n, u);
        } else if (u.backingId != SERVED && !u.layer.equals(f.layer())) {
            return CONFLICT;
        }
        u.opens++;
        return u.backingId;
    }

    /** An open of the node was released; the last one drops its backing. */
    synchronized void released(Node n) {
        Use u = uses.get(n);
        if (u == null || --u.opens > 0) {
            return;
        }
        uses.remove(n);
        Device d = device;
        if (u.backingId != SERVED && d != null) {
            d.close(u.backingId);
        }
    }

    private int register(OpenFile f) {
        Device d = device;
        if (d == null || forbidden) {
            return SERVED;
        }
        try {
            return d.open(f.fd());
        } catch (FsException e) {
            forbidden = e.errno() == Errno.EPERM;
            // Not privileged enough, or a layer stacked too deep: this node is served.
            if (!refusalLogged) {
                refusalLogged = true;
                LOG.info("passthrough refused by the kernel ({}); such files are served by the daemon",
                        e.getMessage());
            } else {
                LOG.debug("passthrough refused for {}: {}", f.path(), e.getMessage());
            }
            return SERVED;
        }
    }
}
