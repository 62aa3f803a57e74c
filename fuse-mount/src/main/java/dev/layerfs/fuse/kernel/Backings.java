package dev.layerfs.fuse.kernel;

import dev.layerfs.core.error.Errno;
import dev.layerfs.core.error.FsException;
import dev.layerfs.core.handle.OpenFile;
import dev.layerfs.core.model.Layer;
import dev.layerfs.fuse.kernel.NodeTable.Node;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The passthrough backing of each node with open files, counted by its opens, and the backings kept for nodes
 * whose files were all closed. The kernel wants every open of one inode to agree: all of them on one backing file
 * (the same id), or none passed through. So the first open of a node decides (a backing where it is wanted and the
 * kernel accepts the file, else served READ and WRITE requests) and later opens follow it. An open that reaches
 * another real file than the node's backing (the node was passed through on a lower layer and has been copied up
 * since) cannot share it while other opens use it and is refused with {@link #CONFLICT}.
 *
 * <p>At the node's last RELEASE its backing id is kept, not closed, while the node is alive and named: the next
 * open of the node on the same layer reuses it with no ioctl at all (a warm {@code tar c} or a container's
 * libraries open the same files again and again). A kept id holds the real file open in the kernel, so it is
 * closed when it must not be reused or must not hold the file: where the node's real file changed
 * ({@link #drop} at a copy-up; an open reaching another layer replaces it), where the node lost its last name
 * (unlink, rename over it: the space of a removed upper file is freed at once) or was forgotten, and at unmount
 * ({@link #closeAll}). An id dropped while files are open is closed with their last release instead. At most
 * {@link #DEFAULT_KEPT} ids are kept idle, the least recently released closed first.
 *
 * <p>Each node is updated under its own monitor, so the ioctl registering one node's backing never holds up opens
 * and releases of other nodes; the idle ids' order has a lock of its own, taken inside a node's monitor and
 * never the other way round. Where INIT settled on no passthrough the dispatcher does not come here at all.
 */
final class Backings {
    private static final Logger LOG = LoggerFactory.getLogger(Backings.class);

    /** Served with READ and WRITE requests: no backing. */
    static final int SERVED = 0;
    /** The node's backing is another real file than this open's. */
    static final int CONFLICT = -1;
    /**
     * How many backing ids are kept with no open file: each holds a struct file and the real file's dentry and
     * inode in the kernel (about 1 KiB, see README), and counts against the system's open files (fs.file-max),
     * not the daemon's descriptors. Enough for the files of a container's start or a tree of a few thousand files
     * read again; the kernel's own FORGETs usually drop them first.
     */
    static final int DEFAULT_KEPT = 4096;

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
        /** Its backing must not outlive its open files (the node's real file changed, or its name went). */
        boolean stale;
        /** It left the map (its backing closed): an open that still finds it takes a new one. */
        boolean dropped;
    }

    private final ConcurrentMap<Node, Use> uses = new ConcurrentHashMap<>();
    /** The uses with a kept backing and no open file, least recently released first; guarded by itself. */
    private final LinkedHashMap<Node, Use> idle = new LinkedHashMap<>();
    private final int maxKept;
    private volatile Device device;
    private final AtomicBoolean refusalLogged = new AtomicBoolean();
    /** The kernel said the daemon may not register backings at all (EPERM): no more attempts. */
    private volatile boolean forbidden;

    Backings() {
        this(DEFAULT_KEPT);
    }

    /** @param maxKept how many backing ids are kept with no open file (0: each closed with its last release) */
    Backings(int maxKept) {
        this.maxKept = maxKept;
    }

    /** The connection's device, once mounted; without one every open is served. */
    void attach(Device d) {
        device = d;
    }

    /**
     * One more open of a node: the backing id to answer it with ({@link #SERVED} for none), or {@link #CONFLICT}.
     * A backing is made only where {@code wanted} and the node has no served open; a kept one is reused where the
     * open is on its layer. Each answer other than CONFLICT must be matched by one {@link #released}.
     */
    int opened(Node n, OpenFile f, boolean wanted) {
        while (true) {
            Use u = uses.computeIfAbsent(n, k -> new Use());
            synchronized (u) {
                if (u.dropped) {
                    continue; // dropped between the look-up and the lock
                }
                if (u.opens == 0) {
                    if (u.backingId != SERVED) {
                        unidle(n, u);
                        if (wanted && !u.stale && u.layer.equals(f.layer())) {
                            u.opens = 1;
                            return u.backingId;
                        }
                        close(u.backingId); // kept for another real file, or not wanted now
                    }
                    u.stale = false;
                    u.backingId = wanted ? register(n, f) : SERVED;
                    u.layer = f.layer();
                } else if (u.backingId != SERVED && !u.layer.equals(f.layer())) {
                    return CONFLICT;
                }
                u.opens++;
                return u.backingId;
            }
        }
    }

    /**
     * An open of the node was released. After the last one the backing is kept where {@code keep} (the node is
     * alive and named) and nothing dropped it meanwhile, else closed.
     */
    void released(Node n, boolean keep) {
        Use u = uses.get(n);
        if (u == null) {
            return;
        }
        boolean overfull = false;
        synchronized (u) {
            if (u.opens == 0 || --u.opens > 0) {
                return;
            }
            if (keep && !u.stale && u.backingId != SERVED && maxKept > 0) {
                synchronized (idle) {
                    idle.put(n, u);
                    overfull = idle.size() > maxKept;
                }
            } else {
                remove(n, u);
            }
        }
        if (overfull) {
            trim();
        }
    }

    /**
     * The node's backing must not be used again: its real file changed (a copy-up), its last name went, or the
     * kernel forgot it. A kept id is closed now, one in use with the node's last release.
     */
    void drop(Node n) {
        Use u = uses.get(n);
        if (u == null) {
            return;
        }
        synchronized (u) {
            if (u.dropped) {
                return;
            }
            if (u.opens > 0) {
                u.stale = true;
                return;
            }
            unidle(n, u);
            remove(n, u);
        }
    }

    /**
     * The node's object was copied up: a backing on a lower layer must not be used again (an open for writing
     * reaches the upper copy). One already on the upper layer is the copy's own and stays.
     */
    void copiedUp(Node n) {
        Use u = uses.get(n);
        if (u == null) {
            return;
        }
        synchronized (u) {
            if (u.dropped || u.backingId == SERVED || u.layer.upper()) {
                return;
            }
        }
        drop(n);
    }

    /** At unmount: closes every kept id (the connection's end would free them too, later). */
    void closeAll() {
        for (Map.Entry<Node, Use> e : idleSnapshot()) {
            Use u = e.getValue();
            synchronized (u) {
                if (!u.dropped && u.opens == 0) {
                    unidle(e.getKey(), u);
                    remove(e.getKey(), u);
                }
            }
        }
    }

    /** How many backing ids are kept with no open file. */
    int kept() {
        synchronized (idle) {
            return idle.size();
        }
    }

    /** Closes the least recently released kept ids beyond the cap. */
    private void trim() {
        while (true) {
            Map.Entry<Node, Use> eldest;
            synchronized (idle) {
                if (idle.size() <= maxKept) {
                    return;
                }
                Iterator<Map.Entry<Node, Use>> it = idle.entrySet().iterator();
                eldest = it.next();
                it.remove();
            }
            Use u = eldest.getValue();
            synchronized (u) {
                // Reused (and maybe kept again) since it was taken off: it stays.
                if (!u.dropped && u.opens == 0 && !isIdle(eldest.getKey(), u)) {
                    remove(eldest.getKey(), u);
                }
            }
        }
    }

    private List<Map.Entry<Node, Use>> idleSnapshot() {
        synchronized (idle) {
            return new ArrayList<>(idle.entrySet());
        }
    }

    private boolean isIdle(Node n, Use u) {
        synchronized (idle) {
            return idle.get(n) == u;
        }
    }

    /** Under the use's monitor: it leaves the idle set. */
    private void unidle(Node n, Use u) {
        synchronized (idle) {
            idle.remove(n, u);
        }
    }

    /** Under the use's monitor, with no open left: it leaves the map and its backing is closed. */
    private void remove(Node n, Use u) {
        u.dropped = true;
        uses.remove(n, u);
        close(u.backingId);
    }

    private void close(int backingId) {
        Device d = device;
        if (backingId != SERVED && d != null) {
            d.close(backingId);
            if (LOG.isDebugEnabled()) {
                LOG.debug("backing {} closed", backingId);
            }
        }
    }

    private int register(Node n, OpenFile f) {
        Device d = device;
        if (d == null || forbidden) {
            return SERVED;
        }
        try {
            int id = d.open(f.fd());
            if (LOG.isDebugEnabled()) {
                LOG.debug("backing {} registered for node {}", id, n.id);
            }
            return id;
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
