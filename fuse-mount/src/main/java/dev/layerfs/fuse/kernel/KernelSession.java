package dev.layerfs.fuse.kernel;

import dev.layerfs.core.Overlay;
import dev.layerfs.core.error.Errno;
import dev.layerfs.core.error.FsException;
import dev.layerfs.core.nativeio.HostAdmin;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A mount served over /dev/fuse without libfuse: mount(2) with the device's descriptor (as root), a descriptor
 * mounted by fusermount3 ({@link Fusermount}, without privileges) or one another process mounted and passed over
 * (the resident daemon's mount client, {@link #adoptAndServe}), then worker threads that
 * each read requests from their own descriptor (the first one, the others attached to the connection with
 * FUSE_DEV_IOC_CLONE), dispatch them and write each reply, in one write, on the descriptor the request came
 * from. The loop ends when a read fails with ENODEV: the file system was unmounted. Workers are never
 * interrupted (an interrupt closes a FileChannel, and closing the last descriptor aborts the connection).
 */
public final class KernelSession {
    private static final Logger LOG = LoggerFactory.getLogger(KernelSession.class);
    /** The newest protocol version this transport speaks (the kernel may offer less). */
    public static final String PROTOCOL = FuseAbi.KERNEL_VERSION + "." + FuseAbi.MAX_MINOR;

    /** How to mount. */
    public record Options(String source, Path mountPoint, boolean readOnly, boolean nosuid, boolean nodev,
            boolean allowOther, boolean defaultPermissions, int threads, double timeoutSeconds,
            PassthroughMode passthrough) {}

    private final Options options;
    private final Dispatcher dispatcher;
    private final NodeTable nodes;
    private final Backings backings;
    private final List<DevFuse> devices = new ArrayList<>();

    private KernelSession(Options options, Dispatcher dispatcher, NodeTable nodes, Backings backings) {
        this.options = options;
        this.dispatcher = dispatcher;
        this.nodes = nodes;
        this.backings = backings;
    }

    /** A session for an overlay; nothing is mounted yet. */
    public static KernelSession create(Overlay overlay, Options options) throws FsException {
        OverlayBridge bridge = new OverlayBridge(overlay);
        NodeTable nodes = new NodeTable(bridge.stat("").ino(), bridge.indexed());
        Backings backings = new Backings();
        // Decided here only: with passthrough off INIT asks for none (depth 0), nor where the kernel would refuse
        // every backing file (BACKING_OPEN needs CAP_SYS_ADMIN in the initial user namespace: rootless podman).
        int depth = options.passthrough() == PassthroughMode.OFF || !HostAdmin.able() ? 0
                : StackDepth.of(overlay.stack());
        return new KernelSession(options, new Dispatcher(bridge, nodes, options.timeoutSeconds(),
                options.passthrough(), depth, backings), nodes, backings);
    }

    /**
     * The lock held while this process opens /dev/fuse and finds the new descriptor's number (the one new
     * /dev/fuse entry of /proc/self/fd): code of the same process that receives descriptors from another process
     * (SCM_RIGHTS, which may carry a /dev/fuse) must hold it while receiving, and while closing such a descriptor.
     */
    public static Object descriptorLock() {
        return DevFuse.OPENS;
    }

    /** Binds the few system calls off the critical path (a background thread at start-up calls this). */
    public static void prepare() {
        KernelCalls.get();
    }

    /** Counts down once the kernel's INIT has been answered. */
    public CountDownLatch initialized() {
        return dispatcher.initialized();
    }

    /** The protocol version negotiated ("7.40"), or null before INIT. */
    public String protocol() {
        InitNegotiation n = dispatcher.negotiated();
        return n == null ? null : n.reply().major() + "." + n.reply().minor();
    }

    /**
     * What mount(2) gets for this session, but for the part of the data only the mounting process knows (its
     * descriptor on /dev/fuse, its uid and gid): see {@link MountCall#data}.
     */
    public record MountCall(String source, String type, long flags, String options) {
        /** The whole mount data: the device descriptor, the root's mode, the mounting user, then the options. */
        public String data(int fd, int uid, int gid) {
            return "fd=" + fd + ",rootmode=40000,user_id=" + uid + ",group_id=" + gid
                    + (options.isEmpty() ? "" : "," + options);
        }
    }

    /** The mount(2) call for this session: made here as root, or by another process that hands the fd over. */
    public MountCall mountCall() {
        List<String> opts = new ArrayList<>();
        if (options.allowOther()) {
            opts.add("allow_other");
        }
        if (options.defaultPermissions()) {
            opts.add("default_permissions");
        }
        return new MountCall(options.source(), "fuse.layerfs", mountFlags(), String.join(",", opts));
    }

    long mountFlags() {
        return (options.readOnly() ? KernelCalls.MS_RDONLY : 0) | (options.nosuid() ? KernelCalls.MS_NOSUID : 0)
                | (options.nodev() ? KernelCalls.MS_NODEV : 0);
    }

    /** The {@code -o} options fusermount3 gets (it adds fd, rootmode, user_id and group_id itself). */
    String fusermountOptions() {
        StringBuilder sb = new StringBuilder("fsname=" + options.source() + ",subtype=layerfs");
        if (options.allowOther()) {
            sb.append(",allow_other");
        }
        if (options.defaultPermissions()) {
            sb.append(",default_permissions");
        }
        if (options.readOnly()) {
            sb.append(",ro");
        }
        if (options.nosuid()) {
            sb.append(",nosuid");
        }
        if (options.nodev()) {
            sb.append(",nodev");
        }
        return sb.toString();
    }

    /** Mounts, serves until unmounted, and closes the device. Mount failures are thrown before any serving. */
    public void mountAndServe() throws IOException {
        KernelCalls calls = KernelCalls.get();
        serveOn(calls, mount(calls));
    }

    /**
     * Serves a connection another process mounted (the descriptor on /dev/fuse it mounted with, passed over a
     * socket) until it is unmounted. The descriptor is attached to a /dev/fuse of this session's own
     * (FUSE_DEV_IOC_CLONE) and then closed: the kernel keeps the connection while any of its devices is open, and
     * the INIT it queued at mount time is read by the first worker.
     */
    public void adoptAndServe(int mountedFd) throws IOException {
        KernelCalls calls = KernelCalls.get();
        DevFuse first;
        try {
            first = DevFuse.open();
            try {
                calls.cloneDevice(first.fd, mountedFd);
            } catch (FsException e) {
                first.close();
                throw e;
            }
        } finally {
            synchronized (DevFuse.OPENS) {
                calls.close(mountedFd);
            }
        }
        serveOn(calls, first);
    }

    private void serveOn(KernelCalls calls, DevFuse first) {
        devices.add(first);
        int devFd = first.fd;
        backings.attach(new Backings.Device() {
            @Override
            public int open(int fd) throws FsException {
                return calls.backingOpen(devFd, fd);
            }

            @Override
            public void close(int backingId) {
                calls.backingClose(devFd, backingId);
            }
        });
        // The calling thread is the first worker. The kernel's first request is INIT and it sends no other before
        // INIT is answered: answered first, then the other workers start, so a mount waits for no thread to start.
        List<Thread> workers = new ArrayList<>();
        WorkerBuffers buffers = WorkerBuffers.take();
        // Named as the other workers while it is one (per-thread CPU figures group them by name).
        Thread self = Thread.currentThread();
        String name = self.getName();
        self.setName("fuse-0");
        try {
            if (serveOne(calls, first, buffers)) {
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
                serve(calls, first, buffers);
            }
        } finally {
            buffers.giveBack();
            self.setName(name);
        }
        for (Thread t : workers) {
            joinUninterruptibly(t);
        }
        backings.closeAll();
        for (DevFuse d : devices) {
            d.close();
        }
        LOG.debug("session ended; {} nodes were still known", nodes.size());
    }

    /**
     * mount(2) as root; otherwise, or where mount(2) is not permitted (root of a user namespace), through
     * fusermount3.
     */
    private DevFuse mount(KernelCalls calls) throws IOException {
        if (calls.geteuid() == 0) {
            DevFuse dev = DevFuse.open();
            try {
                MountCall call = mountCall();
                calls.mount(call.source(), options.mountPoint().toString(), call.type(), call.flags(),
                        call.data(dev.fd, calls.geteuid(), calls.getegid()));
                return dev;
            } catch (FsException e) {
                dev.close();
                if (e.errno() != Errno.EPERM) {
                    throw e;
                }
                LOG.debug("mount(2) of {} not permitted; mounting through {}", options.mountPoint(),
                        Fusermount.PROGRAM);
            }
        }
        return Fusermount.get().mount(options.mountPoint(), fusermountOptions());
    }

    private Thread start(DevFuse dev, int index) {
        Thread t = new Thread(() -> serve(KernelCalls.get(), dev), "fuse-" + index);
        t.setDaemon(true);
        t.start();
        return t;
    }

    private void serve(KernelCalls calls, DevFuse dev) {
        WorkerBuffers buffers = WorkerBuffers.take();
        try {
            serve(calls, dev, buffers);
        } finally {
            buffers.giveBack();
        }
    }

    private void serve(KernelCalls calls, DevFuse dev, WorkerBuffers buffers) {
        while (serveOne(calls, dev, buffers)) {
            // Until the connection is gone.
        }
    }

    /**
     * Reads and answers one request; false once the connection is gone (or reading it failed for good). A method
     * of its own, not the body of the loop above: the JIT compiles a method called this often at once, while a
     * loop that never returns runs interpreted until an on-stack replacement, which the daemon's JIT thresholds
     * put off for a couple of hundred thousand requests.
     */
    private boolean serveOne(KernelCalls calls, DevFuse dev, WorkerBuffers buffers) {
        ByteBuffer in = buffers.in;
        ReplyWriter out = buffers.out;
        long n = calls.read(dev.fd, buffers.inAddress, in.capacity());
        if (n < 0) {
            int errno = (int) -n;
            if (DeviceErrors.isUnmounted(errno)) {
                return false;
            }
            if (DeviceErrors.isRequestGone(errno) || DeviceErrors.isInterrupted(errno)) {
                return true;
            }
            LOG.error("reading /dev/fuse failed: {}", DeviceErrors.describe(errno));
            return false;
        }
        if (n == 0) {
            return false;
        }
        Request.Parsed parsed = Request.parse(in, (int) n);
        Request request = null;
        ByteBuffer reply;
        if (parsed instanceof Request.Ok ok) {
            request = ok.request();
            reply = dispatcher.dispatch(request, out);
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
            if (send(calls, dev, buffers.notesAddress, buffers.notes.invalInode(id)) == Sent.GONE) {
                return false;
            }
        }
        if (reply == null) {
            return true;
        }
        Sent sent = send(calls, dev, buffers.outAddress, reply);
        if (sent == Sent.GONE) {
            return false;
        }
        if (sent == Sent.ABANDONED && request != null) {
            // No RELEASE will follow an open, no FORGET an entry, whose reply the kernel refused: the
            // dispatcher undoes them.
            dispatcher.abandoned(request, reply);
        }
        return true;
    }

    /** What became of a reply written to the device. */
    private enum Sent {
        DELIVERED,
        /** Refused with ENOENT: the kernel had abandoned the request (interrupted) meanwhile. */
        ABANDONED,
        /** The connection is gone: the worker stops. */
        GONE
    }

    /**
     * Writes one reply (or notification), a view from the start of the {@link ReplyWriter} memory at
     * {@code address}, in one write(2) (the kernel takes a reply whole or not at all).
     */
    private static Sent send(KernelCalls calls, DevFuse dev, long address, ByteBuffer reply) {
        long rc;
        do {
            rc = calls.write(dev.fd, address + reply.position(), reply.remaining());
        } while (rc < 0 && DeviceErrors.isInterrupted((int) -rc));
        if (rc >= 0) {
            return Sent.DELIVERED;
        }
        int errno = (int) -rc;
        if (DeviceErrors.isRequestGone(errno)) {
            return Sent.ABANDONED;
        }
        if (!DeviceErrors.isUnmounted(errno)) {
            LOG.error("writing a reply to /dev/fuse failed: {}", DeviceErrors.describe(errno));
        }
        return Sent.GONE;
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
