package dev.layerfs.fuse.kernel;

import dev.layerfs.core.error.Errno;
import dev.layerfs.core.error.FsException;
import dev.layerfs.core.handle.OpenFile;
import dev.layerfs.core.model.Layer;
import dev.layerfs.fuse.kernel.NodeTable.Node;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The passthrough backing of each node with open files, counted by its opens. The kernel wants every open of
 * one inode to agree: all of them on one backing file (the same id), or none passed through. So the first open
 * of a node decides (a backing where it is wanted and the kernel accepts the file, else served READ and WRITE
 * requests), later opens follow it, and the backing id is closed with the node's last RELEASE. An open that
 * reaches another real file than the node's backing (the node was passed through on a lower layer and has been
 * copied up since) cannot share it and is refused with {@link #CONFLICT}. Each node is updated on its own, so
 * the ioctl registering one node's backing never holds up opens and releases of other nodes; where INIT settled
 * on no passthrough the dispatcher does not come here at all.
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

    /**
     * A node's opens: the backing they share (or {@link #SERVED}), on which layer, and how many they are. Its own
     * monitor guards it, so the first open's BACKING_OPEN ioctl holds up only other opens of the same node.
     */
    private static final class Use {
        int backingId;
        Layer layer;
        int opens;
        /** Its last open was released and it left the map: an open that still finds it takes a new one. */
        boolean dropped;
    }

    private final ConcurrentMap<Node, Use> uses = new ConcurrentHashMap<>();
    private volatile Device device;
    private final AtomicBoolean refusalLogged = new AtomicBoolean();
    /** The kernel said the daemon may not register backings at all (EPERM): no more attempts. */
    private volatile boolean forbidden;

    /** The connection's device, once mounted; without one every open is served. */
    void attach(Device d) {
        device = d;
    }

    /**
     * One more open of a node: the backing id to answer it with ({@link #SERVED} for none), or {@link #CONFLICT}.
     * A backing is made only where {@code wanted} and the node has no served open. Each answer other than
     * CONFLICT must be matched by one {@link #released}.
     */
    int opened(Node n, OpenFile f, boolean wanted) {
        while (true) {
            Use u = uses.computeIfAbsent(n, k -> new Use());
            synchronized (u) {
                if (u.dropped) {
                    continue; // released to nothing between the look-up and the lock
                }
                if (u.opens == 0) {
                    u.backingId = wanted ? register(f) : SERVED;
                    u.layer = f.layer();
                } else if (u.backingId != SERVED && !u.layer.equals(f.layer())) {
                    return CONFLICT;
                }
                u.opens++;
                return u.backingId;
            }
        }
    }

    /** An open of the node was released; the last one drops its backing. */
    void released(Node n) {
        Use u = uses.get(n);
        if (u == null) {
            return;
        }
        int backingId;
        synchronized (u) {
            if (u.opens == 0 || --u.opens > 0) {
                return;
            }
            u.dropped = true;
            uses.remove(n, u);
            backingId = u.backingId;
        }
        Device d = device;
        if (backingId != SERVED && d != null) {
            d.close(backingId);
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
            if (e.errno() == Errno.EPERM) {
                forbidden = true;
            }
            // Not privileged enough, or a layer stacked too deep: this node is served.
            if (refusalLogged.compareAndSet(false, true)) {
                LOG.info("passthrough refused by the kernel ({}); such files are served by the daemon",
                        e.getMessage());
            } else {
                LOG.debug("passthrough refused for {}: {}", f.path(), e.getMessage());
            }
            return SERVED;
        }
    }
}
