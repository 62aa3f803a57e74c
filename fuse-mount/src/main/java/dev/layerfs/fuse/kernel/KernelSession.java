package dev.layerfs.fuse.kernel;

import dev.layerfs.core.Overlay;
import dev.layerfs.core.error.FsException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A mount served over /dev/fuse without libfuse: mount(2) with the device's descriptor, then worker threads that
 * each read requests from their own descriptor (the first one, the others attached to the connection with
 * FUSE_DEV_IOC_CLONE), dispatch them and write each reply, in one write, on the descriptor the request came
 * from. The loop ends when a read fails with ENODEV: the file system was unmounted. Workers are never
 * interrupted (an interrupt closes a FileChannel, and closing the last descriptor aborts the connection).
 */
public final class KernelSession {
    private static final Logger LOG = LoggerFactory.getLogger(KernelSession.class);
    /** Requests: header, write_in and the largest write, with room to spare (at least FUSE_MIN_READ_BUFFER). */
    static final int REQUEST_BUFFER = Math.max(FuseAbi.MIN_READ_BUFFER, InitNegotiation.MAX_WRITE + 8192);
    /** Replies: the out header and the largest read. */
    static final int REPLY_BUFFER = InitNegotiation.MAX_WRITE + 4096;

    /** Notifications: the out header and the largest notify struct sent. */
    static final int NOTIFY_BUFFER = 64;

    /** The newest protocol version this transport speaks (the kernel may offer less). */
    public static final String PROTOCOL = FuseAbi.KERNEL_VERSION + "." + FuseAbi.MAX_MINOR;

    /** How to mount. */
    public record Options(String source, Path mountPoint, boolean readOnly, boolean nosuid, boolean nodev,
            boolean allowOther, boolean defaultPermissions, int threads, double timeoutSeconds) {}

    private final Options options;
    private final Dispatcher dispatcher;
    private final NodeTable nodes;
    private final List<DevFuse> devices = new ArrayList<>();

    private KernelSession(Options options, Dispatcher dispatcher, NodeTable nodes) {
        this.options = options;
        this.dispatcher = dispatcher;
        this.nodes = nodes;
    }

    /** A session for an overlay; nothing is mounted yet. */
    public static KernelSession create(Overlay overlay, Options options) throws FsException {
        OverlayBridge bridge = new OverlayBridge(overlay);
        NodeTable nodes = new NodeTable(bridge.stat("").ino());
        return new KernelSession(options, new Dispatcher(bridge, nodes, options.timeoutSeconds()), nodes);
    }

    /** Binds the few system calls off the critical path (a background thread at start-up calls this). */
    public static void prepare() {
        KernelCalls.get();
    }

    /** Counts down once the kernel's INIT has been answered. */
    public CountDownLatch initialized() {
        return dispatcher.initialized();
    }

    /** The protocol version negotiated ("7.38"), or null before INIT. */
    public String protocol() {
        InitNegotiation n = dispatcher.negotiated();
        return n == null ? null : n.reply().major() + "." + n.reply().minor();
    }

    /** The mount data mount(2) gets. */
    String mountData(int fd, int uid, int gid) {
        StringBuilder sb = new StringBuilder("fd=" + fd + ",rootmode=40000,user_id=" + uid + ",group_id=" + gid);
        if (options.allowOther()) {
            sb.append(",allow_other");
        }
        if (options.defaultPermissions()) {
            sb.append(",default_permissions");
        }
        return sb.toString();
    }

    long mountFlags() {
        return (options.readOnly() ? KernelCalls.MS_RDONLY : 0) | (options.nosuid() ? KernelCalls.MS_NOSUID : 0)
                | (options.nodev() ? KernelCalls.MS_NODEV : 0);
    }

    /** Mounts, serves until unmounted, and closes the device. Mount failures are thrown before any serving. */
    public void mountAndServe() throws IOException {
        KernelCalls calls = KernelCalls.get();
        DevFuse first = DevFuse.open();
        devices.add(first);
        try {
            calls.mount(options.source(), options.mountPoint().toString(), "fuse.layerfs", mountFlags(),
                    mountData(first.fd, calls.geteuid(), calls.getegid()));
        } catch (FsException e) {
            first.close();
            throw e;
        }
        List<Thread> workers = new ArrayList<>();
        workers.add(start(first, 0));
        for (int i = 1; i < Math.max(1, options.threads()); i++) {
            try {
                DevFuse clone = DevFuse.open();
                calls.cloneDevice(clone.fd, first.fd);
                devices.add(clone);
                workers.add(start(clone, i));
            } catch (IOException e) {
                LOG.warn("serving with {} threads: cannot clone /dev/fuse: {}", i, e.getMessage());
                break;
            }
        }
        for (Thread t : workers) {
            joinUninterruptibly(t);
        }
        for (DevFuse d : devices) {
            d.close();
        }
        LOG.debug("session ended; {} nodes were still known", nodes.size());
    }

    private Thread start(DevFuse dev, int index) {
        Thread t = new Thread(() -> serve(dev), "fuse-" + index);
        t.setDaemon(true);
        t.start();
        return t;
    }

    private void serve(DevFuse dev) {
        // A WRITE's data lands on a page boundary: O_DIRECT files are written from it without a copy.
        ByteBuffer in = ReplyWriter.pageAlignedAt(FuseAbi.WRITE_DATA_OFFSET, REQUEST_BUFFER);
        ReplyWriter out = new ReplyWriter(REPLY_BUFFER);
        ReplyWriter notes = new ReplyWriter(NOTIFY_BUFFER);
        while (true) {
            in.clear();
            int n;
            try {
                n = dev.channel.read(in);
            } catch (IOException e) {
                if (DeviceErrors.isUnmounted(e)) {
                    return;
                }
                if (DeviceErrors.isRequestGone(e)) {
                    continue;
                }
                LOG.error("reading /dev/fuse failed: {}", e.toString());
                return;
            }
            if (n < 0) {
                return;
            }
            Request.Parsed parsed = Request.parse(in, n);
            ByteBuffer reply;
            if (parsed instanceof Request.Ok ok) {
                reply = dispatcher.dispatch(ok.request(), out);
            } else {
                Request.Malformed m = (Request.Malformed) parsed;
                LOG.warn("malformed request: {}", m.why());
                reply = m.replies() && m.unique() != 0 ? out.error(m.unique(), FuseAbi.EIO) : null;
            }
            // A copy-up made what the kernel caches of the lower object stale. Told before the reply, so the
            // caller's next system call finds it gone, and outside the engine's lock: invalidating pages may wait
            // for a page another request (waiting for that lock) holds. Notifying a node the kernel has already
            // forgotten fails with ENOENT, which send() ignores.
            for (long id : dispatcher.staleNodes()) {
                if (!send(dev, notes.invalInode(id))) {
                    return;
                }
            }
            if (reply != null && !send(dev, reply)) {
                return;
            }
        }
    }

    /** Writes one reply; false where the connection is gone. */
    private static boolean send(DevFuse dev, ByteBuffer reply) {
        try {
            while (reply.hasRemaining()) {
                dev.channel.write(reply);
            }
            return true;
        } catch (IOException e) {
            if (DeviceErrors.isRequestGone(e)) {
                return true; // interrupted and abandoned by the kernel meanwhile
            }
            if (!DeviceErrors.isUnmounted(e)) {
                LOG.error("writing a reply to /dev/fuse failed: {}", e.toString());
            }
            return false;
        }
    }

    private static void joinUninterruptibly(Thread t) {
        boolean interrupted = false;
        while (true) {
            try {
                t.join();
                break;
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }
}
