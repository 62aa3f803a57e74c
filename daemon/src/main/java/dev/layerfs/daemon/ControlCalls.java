package dev.layerfs.daemon;

import dev.layerfs.core.error.Errno;
import dev.layerfs.core.error.FsException;
import dev.layerfs.fuse.kernel.KernelSession;
import java.nio.charset.StandardCharsets;
import jnr.ffi.LastError;
import jnr.ffi.LibraryLoader;
import jnr.ffi.Memory;
import jnr.ffi.Pointer;
import jnr.ffi.Runtime;
import jnr.ffi.annotations.In;
import jnr.ffi.annotations.Out;

/**
 * The system calls of the control socket, which the JDK's unix-domain channels do not offer: the peer's
 * credentials (SO_PEERCRED) and descriptors passed with SCM_RIGHTS. Also umount2 with MNT_DETACH. Struct layouts
 * are those of 64-bit Linux (x86_64, aarch64).
 */
final class ControlCalls {
    /** Public only because jnr generates its implementation elsewhere. */
    public interface Native {
        int socket(int domain, int type, int protocol);

        int bind(int fd, @In byte[] address, int length);

        int listen(int fd, int backlog);

        int accept4(int fd, Pointer address, Pointer length, int flags);

        long read(int fd, @Out byte[] buf, long count);

        long write(int fd, @In byte[] buf, long count);

        long recvmsg(int fd, Pointer msg, int flags);

        int getsockopt(int fd, int level, int name, @Out int[] value, @In @Out int[] length);

        int shutdown(int fd, int how);

        int poll(Pointer fds, long count, int timeout);

        int close(int fd);

        int umount2(String target, int flags);

        int geteuid();

        int getpid();
    }

    private static final int AF_UNIX = 1;
    private static final int SOCK_STREAM = 1;
    private static final int SOCK_CLOEXEC = 02000000;
    private static final int SOL_SOCKET = 1;
    private static final int SO_PEERCRED = 17;
    private static final int SCM_RIGHTS = 1;
    private static final int MSG_CMSG_CLOEXEC = 0x40000000;
    private static final int MSG_DONTWAIT = 0x40;
    private static final short POLLIN = 1;
    private static final int SHUT_RDWR = 2;
    static final int MNT_DETACH = 2;
    /** sizeof(struct sockaddr_un): a 2-byte family and 108 bytes of path. */
    private static final int SUN_PATH_MAX = 108;
    /** struct msghdr: name, namelen, iov, iovlen, control, controllen, flags. */
    private static final int MSGHDR_SIZE = 56;
    private static final int MSG_IOV = 16;
    private static final int MSG_IOVLEN = 24;
    private static final int MSG_CONTROL = 32;
    private static final int MSG_CONTROLLEN = 40;
    /** struct cmsghdr: len (size_t), level, type, then the data. */
    private static final int CMSG_LEVEL = 8;
    private static final int CMSG_TYPE = 12;
    private static final int CMSG_DATA = 16;
    private static final int CONTROL_SIZE = 64;

    private static final ControlCalls INSTANCE = new ControlCalls();

    private final Native lib;
    private final Runtime runtime;

    private ControlCalls() {
        lib = LibraryLoader.create(Native.class).failImmediately().load("c");
        runtime = Runtime.getRuntime(lib);
    }

    static ControlCalls get() {
        return INSTANCE;
    }

    private FsException fail(String op, String what) {
        return FsException.of(Errno.of(LastError.getLastError(runtime)), op, what);
    }

    /** A listening stream socket bound at {@code path} (which must not exist). */
    int listen(String path) throws FsException {
        byte[] name = path.getBytes(StandardCharsets.UTF_8);
        if (name.length >= SUN_PATH_MAX) {
            throw FsException.of(Errno.ENAMETOOLONG, "bind", path);
        }
        byte[] address = new byte[2 + name.length + 1];
        address[0] = AF_UNIX;
        System.arraycopy(name, 0, address, 2, name.length);
        int fd = lib.socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            throw fail("socket", path);
        }
        if (lib.bind(fd, address, address.length) != 0 || lib.listen(fd, 128) != 0) {
            FsException e = fail("bind", path);
            lib.close(fd);
            throw e;
        }
        return fd;
    }

    /** The next connection; EINVAL once the socket was shut down. */
    int accept(int listening) throws FsException {
        while (true) {
            int fd = lib.accept4(listening, null, null, SOCK_CLOEXEC);
            if (fd >= 0) {
                return fd;
            }
            FsException e = fail("accept", "control socket");
            if (e.errno() != Errno.EINTR && e.errno() != Errno.EAGAIN) {
                throw e;
            }
        }
    }

    /** The peer's {pid, uid, gid}, as the kernel recorded them at connect. */
    int[] peer(int fd) throws FsException {
        int[] cred = new int[3];
        if (lib.getsockopt(fd, SOL_SOCKET, SO_PEERCRED, cred, new int[] {12}) != 0) {
            throw fail("getsockopt(SO_PEERCRED)", "control socket");
        }
        return cred;
    }

    /** Reads exactly {@code buf.length} bytes; false at end of stream before the first byte. */
    boolean readFully(int fd, byte[] buf) throws FsException {
        int done = 0;
        while (done < buf.length) {
            byte[] chunk = done == 0 ? buf : new byte[buf.length - done];
            long n = lib.read(fd, chunk, chunk.length);
            if (n < 0) {
                FsException e = fail("read", "control socket");
                if (e.errno() == Errno.EINTR) {
                    continue;
                }
                throw e;
            }
            if (n == 0) {
                if (done == 0) {
                    return false;
                }
                throw FsException.of(Errno.EPIPE, "read", "control socket");
            }
            if (chunk != buf) {
                System.arraycopy(chunk, 0, buf, done, (int) n);
            }
            done += (int) n;
        }
        return true;
    }

    void writeFully(int fd, byte[] buf) throws FsException {
        int done = 0;
        while (done < buf.length) {
            byte[] chunk = done == 0 ? buf : java.util.Arrays.copyOfRange(buf, done, buf.length);
            long n = lib.write(fd, chunk, chunk.length);
            if (n < 0) {
                FsException e = fail("write", "control socket");
                if (e.errno() == Errno.EINTR) {
                    continue;
                }
                throw e;
            }
            done += (int) n;
        }
    }

    /** The most bytes one {@link #receive} returns. */
    static final int RECEIVE_MAX = 64 * 1024;

    /** The bytes of one message and the descriptors sent with them. */
    record Received(byte[] bytes, int[] fds) {}

    /**
     * The native memory of recvmsg and poll, allocated once for each thread that receives (the daemon's client
     * threads are pooled), not at each message: a 64 KiB buffer allocated and freed per message cost a mount
     * through the daemon page faults and a free in jnr's cleaner thread.
     */
    private final class Scratch {
        final Pointer data = Memory.allocateDirect(runtime, RECEIVE_MAX);
        final Pointer iov = Memory.allocateDirect(runtime, 16, true);
        final Pointer control = Memory.allocateDirect(runtime, CONTROL_SIZE, true);
        final Pointer msg = Memory.allocateDirect(runtime, MSGHDR_SIZE, true);
        /** struct pollfd: int fd, short events, short revents. */
        final Pointer pollfd = Memory.allocateDirect(runtime, 8, true);

        Scratch() {
            iov.putPointer(0, data);
            iov.putLong(8, RECEIVE_MAX);
            msg.putPointer(MSG_IOV, iov);
            msg.putLong(MSG_IOVLEN, 1);
            msg.putPointer(MSG_CONTROL, control);
        }
    }

    private final ThreadLocal<Scratch> scratch = ThreadLocal.withInitial(Scratch::new);

    /** One recvmsg: up to {@link #RECEIVE_MAX} bytes, and any descriptors (SCM_RIGHTS) that came with them. */
    Received receive(int fd) throws FsException {
        Scratch m = scratch.get();
        long n;
        while (true) {
            awaitInput(m, fd);
            // The kernel writes the length of what it put in the control buffer there: set again for each call.
            m.msg.putLong(MSG_CONTROLLEN, CONTROL_SIZE);
            // The kernel session tells its /dev/fuse descriptors apart from others by the new entries in
            // /proc/self/fd: a descriptor received meanwhile would confuse it. Data is waiting, so this does not
            // block while holding the lock.
            synchronized (KernelSession.descriptorLock()) {
                n = lib.recvmsg(fd, m.msg, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
            }
            if (n >= 0) {
                break;
            }
            FsException e = fail("recvmsg", "control socket");
            if (e.errno() != Errno.EINTR && e.errno() != Errno.EAGAIN) {
                throw e;
            }
        }
        byte[] bytes = new byte[(int) n];
        m.data.get(0, bytes, 0, bytes.length);
        int[] fds = new int[0];
        long controlLength = m.msg.getLong(MSG_CONTROLLEN);
        if (controlLength >= CMSG_DATA && m.control.getInt(CMSG_LEVEL) == SOL_SOCKET
                && m.control.getInt(CMSG_TYPE) == SCM_RIGHTS) {
            int count = (int) ((m.control.getLong(0) - CMSG_DATA) / Integer.BYTES);
            fds = new int[count];
            for (int i = 0; i < count; i++) {
                fds[i] = m.control.getInt(CMSG_DATA + (long) i * Integer.BYTES);
            }
        }
        return new Received(bytes, fds);
    }

    /** Waits until the socket has something to read (or has been closed by the peer). */
    private void awaitInput(Scratch m, int fd) throws FsException {
        m.pollfd.putInt(0, fd);
        m.pollfd.putShort(4, POLLIN);
        while (true) {
            int r = lib.poll(m.pollfd, 1, -1);
            if (r >= 0) {
                return;
            }
            FsException e = fail("poll", "control socket");
            if (e.errno() != Errno.EINTR) {
                throw e;
            }
        }
    }

    /** Wakes a thread blocked in accept (or read) on this socket. */
    void shutdown(int fd) {
        lib.shutdown(fd, SHUT_RDWR);
    }

    /** Closes holding the kernel session's descriptor lock (the descriptor may be on /dev/fuse: see receive). */
    void close(int fd) {
        synchronized (KernelSession.descriptorLock()) {
            lib.close(fd);
        }
    }

    void umountDetached(String target) throws FsException {
        if (lib.umount2(target, MNT_DETACH) != 0) {
            throw fail("umount", target);
        }
    }

    int geteuid() {
        return lib.geteuid();
    }

    int getpid() {
        return lib.getpid();
    }
}
