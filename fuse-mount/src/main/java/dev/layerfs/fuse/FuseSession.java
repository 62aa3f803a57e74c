package dev.layerfs.fuse;

import dev.layerfs.core.error.Errno;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import jnr.ffi.LibraryLoader;
import jnr.ffi.Memory;
import jnr.ffi.Pointer;
import jnr.ffi.Runtime;
import jnr.ffi.Struct;
import jnr.ffi.byref.IntByReference;
import jnr.ffi.byref.PointerByReference;
import jnr.ffi.annotations.Delegate;
import dev.layerfs.core.nativeio.Syscalls;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import ru.serce.jnrfuse.struct.FuseOperations;

/**
 * The FUSE request loop, run by a fixed pool of Java threads instead of libfuse's own multithreaded loop.
 *
 * <p>libfuse 2's loop starts a native thread whenever none is idle and ends threads when more than ten are idle;
 * each new native thread that calls into Java is attached to the JVM, which costs more than serving a request.
 * Here the threads are created once, stay attached, and each reads {@code /dev/fuse} and processes what it reads
 * with libfuse's high-level session (the same calls libfuse's loop makes). Mounting and unmounting stay
 * libfuse's: {@code fuse_setup} parses the options and mounts, {@code fuse_teardown} unmounts and destroys.
 *
 * <p>Directory listings cached by the kernel: libfuse 2 cannot ask for it (its {@code fuse_file_info} has no
 * {@code cache_readdir}), so the loop processes OPENDIR requests with a second channel on the same
 * {@code /dev/fuse} descriptor whose send hook sets {@code FOPEN_CACHE_DIR | FOPEN_KEEP_CACHE} in a successful
 * reply before writing it. The kernel then serves later listings of that directory from its page cache until a
 * change through the mount (create, unlink, rename, ...) or a new mtime drops it.
 *
 * <p>Writes of 1 MiB: libfuse 2 speaks FUSE 7.19, where a request carries at most 32 pages (128 KiB). Where the
 * kernel offers 7.28 or later, the INIT reply is rewritten the same way to say 7.28 with {@code FUSE_MAX_PAGES}
 * (256 pages) and {@code max_write} 1 MiB; nothing else changes, since every later protocol feature is behind a
 * flag libfuse 2 does not set, and requests libfuse 2 does not know (lseek, copy_file_range, rename2) are
 * answered ENOSYS, after which the kernel does without them, as it does now. Each thread reads requests into a
 * buffer large enough for such a write.
 *
 * <p>The same rewrite sets {@code FUSE_AUTO_INVAL_DATA} where the kernel offers it (libfuse 3 sets it by
 * default; libfuse 2 does not know it): a read asks for fresh attributes once they have expired, and pages
 * cached for a file whose size or mtime changed are dropped. Without it a descriptor kept open on one name of a
 * hard-linked file (libfuse 2's high-level API makes one kernel inode, so one page cache, per name) is served
 * pages cached before a write or truncate through another name; {@code auto_cache} checks only at open.
 */
final class FuseSession {
    private static final Logger LOG = LoggerFactory.getLogger(FuseSession.class);

    /** The part of libfuse 2's API that the loop uses. */
    public interface LibFuse2 {
        Pointer fuse_setup(int argc, Pointer argv, Pointer op, long opSize, PointerByReference mountpoint,
                IntByReference multithreaded, Pointer userData);

        Pointer fuse_get_session(Pointer fuse);

        Pointer fuse_session_next_chan(Pointer se, Pointer ch);

        long fuse_chan_bufsize(Pointer ch);

        int fuse_chan_recv(Pointer channelRef, Pointer buf, long size);

        void fuse_session_process(Pointer se, Pointer buf, long len, Pointer ch);

        int fuse_session_exited(Pointer se);

        void fuse_session_exit(Pointer se);

        void fuse_teardown(Pointer fuse, Pointer mountpoint);

        Pointer fuse_chan_new(Pointer op, int fd, long bufsize, Pointer data);

        int fuse_chan_fd(Pointer ch);
    }

    /** libfuse 2's {@code int (*send)(struct fuse_chan *ch, const struct iovec iov[], size_t count)}. */
    public interface ChannelSend {
        @Delegate
        int send(Pointer ch, Pointer iov, long count);
    }

    private static final int FUSE_INIT = 26;
    private static final int FUSE_OPENDIR = 27;
    /** The protocol minor that brought FUSE_MAX_PAGES, and what the rewritten INIT reply says. */
    private static final int MINOR_MAX_PAGES = 28;
    private static final int FUSE_MAX_PAGES = 1 << 22;
    private static final int FUSE_AUTO_INVAL_DATA = 1 << 12;
    private static final int MAX_WRITE = 1 << 20;
    /** fuse_in_header (40) + fuse_write_in (40) + a 1 MiB write, rounded up. */
    private static final int REQUEST_BUFFER = MAX_WRITE + 8192;
    /** sizeof(struct fuse_init_out) in 7.28 and later, and in libfuse 2's 7.19. */
    private static final int INIT_OUT_SIZE = 64;
    private static final int INIT_OUT_SIZE_7_19 = 24;
    private static final int FOPEN_KEEP_CACHE = 1 << 1;
    private static final int FOPEN_CACHE_DIR = 1 << 3;
    /** sizeof(struct fuse_open_out): fh (8), open_flags (4), padding (4). */
    private static final int OPEN_OUT_SIZE = 16;

    private static final LibFuse2 LIB = LibraryLoader.create(LibFuse2.class).load("fuse");

    private final Pointer fuse;
    private final Pointer session;
    private final Pointer channel;
    private final Pointer mountPointString;
    private final List<Pointer> argvMemory;
    private final boolean singleThreaded;
    /** The channel OPENDIR requests are processed with (replies marked cacheable), or null. */
    private Pointer opendirChannel;
    private ChannelSend opendirSend;
    private Pointer opendirOps;
    /** The channel the INIT request is processed with (reply rewritten for 1 MiB writes), or null. */
    private volatile Pointer initChannel;
    private ChannelSend initSend;
    private Pointer initOps;
    private Pointer initReply;
    /** The flags of the kernel's INIT request (fuse_init_in), read before the request is processed. */
    private volatile int kernelInitFlags;

    private FuseSession(Pointer fuse, Pointer mountPointString, List<Pointer> argvMemory, boolean singleThreaded) {
        this.fuse = fuse;
        this.session = LIB.fuse_get_session(fuse);
        this.channel = LIB.fuse_session_next_chan(session, null);
        this.mountPointString = mountPointString;
        this.argvMemory = argvMemory;
        this.singleThreaded = singleThreaded;
    }

    /**
     * Has the kernel cache directory listings (see the class comment). The hook runs only for OPENDIR replies;
     * a reply it cannot recognise goes out unchanged.
     */
    void cacheDirectoryListings() {
        Runtime rt = Runtime.getRuntime(LIB);
        int fd = LIB.fuse_chan_fd(channel);
        Syscalls sys = Syscalls.get();
        int iovSize = 2 * rt.addressSize();
        opendirSend = (ch, iov, count) -> {
            if (count == 2 && iov.getLong(iovSize + rt.addressSize()) == OPEN_OUT_SIZE) {
                Pointer arg = iov.getPointer(iovSize);
                arg.putInt(8, arg.getInt(8) | FOPEN_KEEP_CACHE | FOPEN_CACHE_DIR);
            }
            long n = sys.writev(fd, iov, (int) count);
            return n < 0 ? (int) n : 0;
        };
        // struct fuse_chan_ops { receive, send, destroy }: only send is ever called on this channel.
        opendirOps = channelOps(opendirSend);
        opendirChannel = LIB.fuse_chan_new(opendirOps, fd, LIB.fuse_chan_bufsize(channel), null);
        if (opendirChannel == null) {
            LOG.warn("cannot make the OPENDIR channel; directory listings are not cached by the kernel");
        }
    }

    /** struct fuse_chan_ops { receive, send, destroy }: only send is ever called on these channels. */
    private static Pointer channelOps(ChannelSend send) {
        Runtime rt = Runtime.getRuntime(LIB);
        Pointer ops = Memory.allocateDirect(rt, 3 * rt.addressSize(), true);
        ops.putPointer(rt.addressSize(), rt.getClosureManager().getClosurePointer(ChannelSend.class, send));
        return ops;
    }

    /** Has the INIT reply ask for 1 MiB writes and data invalidation on change (see the class comment). */
    void rewriteInitReply() {
        Runtime rt = Runtime.getRuntime(LIB);
        int fd = LIB.fuse_chan_fd(channel);
        Syscalls sys = Syscalls.get();
        int a = rt.addressSize();
        initReply = Memory.allocateDirect(rt, INIT_OUT_SIZE + 4 * a, true);
        initSend = (ch, iov, count) -> {
            if (count == 2 && iov.getLong(2 * a + a) == INIT_OUT_SIZE_7_19) {
                Pointer header = iov.getPointer(0);
                Pointer old = iov.getPointer(2 * a);
                Pointer out = initReply;
                for (int i = 0; i < INIT_OUT_SIZE_7_19; i += 4) {
                    out.putInt(i, old.getInt(i));
                }
                out.putInt(4, MINOR_MAX_PAGES);
                out.putInt(12, out.getInt(12) | FUSE_MAX_PAGES | (kernelInitFlags & FUSE_AUTO_INVAL_DATA));
                out.putInt(20, MAX_WRITE);
                out.putShort(28, (short) (MAX_WRITE / 4096));
                header.putInt(0, 16 + INIT_OUT_SIZE);
                Pointer vec = initReply.slice(INIT_OUT_SIZE);
                vec.putPointer(0, header);
                vec.putLong(a, 16);
                vec.putPointer(2 * a, out);
                vec.putLong(3 * a, INIT_OUT_SIZE);
                iov = vec;
            }
            long n = sys.writev(fd, iov, (int) count);
            return n < 0 ? (int) n : 0;
        };
        initOps = channelOps(initSend);
        initChannel = LIB.fuse_chan_new(initOps, fd, LIB.fuse_chan_bufsize(channel), null);
    }

    /** Loads the libfuse binding (this class's initialisation) ahead of the mount. */
    static void loadLibrary() {
        // Nothing more: calling a static method initialises the class, which binds libfuse.
    }

    /** Parses the arguments and mounts; returns null where libfuse refused (it says why on stderr). */
    static FuseSession mount(FuseOperations ops, List<String> args) {
        Runtime rt = Runtime.getRuntime(LIB);
        List<Pointer> keep = new ArrayList<>();
        Pointer argv = Memory.allocateDirect(rt, (args.size() + 1) * rt.addressSize(), true);
        keep.add(argv);
        for (int i = 0; i < args.size(); i++) {
            byte[] bytes = args.get(i).getBytes(StandardCharsets.UTF_8);
            Pointer s = Memory.allocateDirect(rt, bytes.length + 1, true);
            s.put(0, bytes, 0, bytes.length);
            keep.add(s);
            argv.putPointer((long) i * rt.addressSize(), s);
        }
        PointerByReference mountpoint = new PointerByReference();
        IntByReference multithreaded = new IntByReference();
        Pointer fuse = LIB.fuse_setup(args.size(), argv, Struct.getMemory(ops), Struct.size(ops), mountpoint,
                multithreaded, null);
        if (fuse == null) {
            return null;
        }
        return new FuseSession(fuse, mountpoint.getValue(), keep, multithreaded.getValue() == 0);
    }

    /** Serves requests with {@code threads} threads until the file system is unmounted, then tears down. */
    void serve(int threads) {
        int n = singleThreaded ? 1 : threads;
        List<Thread> workers = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            Thread t = new Thread(this::work, "fuse-" + i);
            t.setDaemon(true);
            workers.add(t);
            t.start();
        }
        for (Thread t : workers) {
            try {
                t.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                LIB.fuse_session_exit(session);
            }
        }
        LIB.fuse_teardown(fuse, mountPointString);
        argvMemory.clear();
    }

    private void work() {
        long size = Math.max(LIB.fuse_chan_bufsize(channel), initChannel != null ? REQUEST_BUFFER : 0);
        Runtime rt = Runtime.getRuntime(LIB);
        Pointer buf = Memory.allocateDirect(rt, (int) size);
        Pointer ch = Memory.allocateDirect(rt, rt.addressSize());
        while (LIB.fuse_session_exited(session) == 0) {
            ch.putPointer(0, channel);
            int res = LIB.fuse_chan_recv(ch, buf, size);
            if (res == -Errno.EINTR.code() || res == -Errno.EAGAIN.code() || res == -Errno.ENOENT.code()) {
                continue;
            }
            if (res <= 0) {
                if (res < 0) {
                    LOG.warn("reading /dev/fuse failed with errno {}", -res);
                }
                LIB.fuse_session_exit(session);
                break;
            }
            Pointer replyTo = ch.getPointer(0);
            int opcode = res >= 8 ? buf.getInt(4) : -1;
            if (opcode == FUSE_OPENDIR && opendirChannel != null) {
                replyTo = opendirChannel;
            } else if (opcode == FUSE_INIT && initChannel != null && res >= 56
                    && buf.getInt(40) == 7 && buf.getInt(44) >= MINOR_MAX_PAGES) {
                // fuse_init_in follows the 40-byte header: major 7, the kernel's minor, max_readahead, flags.
                kernelInitFlags = buf.getInt(52);
                replyTo = initChannel;
            }
            CurrentRequest.set(opcode);
            LIB.fuse_session_process(session, buf, res, replyTo);
        }
    }
}
