package dev.layerfs.fuse.kernel;

import dev.layerfs.core.error.Errno;
import dev.layerfs.core.error.FsException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import jnr.ffi.LastError;
import jnr.ffi.LibraryLoader;
import jnr.ffi.Memory;
import jnr.ffi.Pointer;
import jnr.ffi.Runtime;
import jnr.ffi.annotations.Out;
import jnr.ffi.types.ssize_t;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A mount made without privileges, as libfuse's {@code lib/mount.c} makes it: the set-uid {@code fusermount3}
 * opens /dev/fuse, mounts it, and passes the descriptor back over a socket whose other end it inherits (its
 * number in {@code _FUSE_COMMFD}), as SCM_RIGHTS ancillary data. The child is started with posix_spawnp, since
 * Java's ProcessBuilder closes every inherited descriptor. Unmounting is {@code fusermount3 -u -z}
 * ({@code MountDaemon.unmount}), as libfuse does at exit.
 *
 * <p>Its own binding, made only when a mount takes this path, so that a mount by root binds nothing more.
 */
final class Fusermount {
    private static final Logger LOG = LoggerFactory.getLogger(Fusermount.class);
    static final String PROGRAM = "fusermount3";
    private static final String COMM_FD_VARIABLE = "_FUSE_COMMFD";

    private static final int AF_UNIX = 1;
    private static final int SOCK_STREAM = 1;
    private static final int SOL_SOCKET = 1;
    private static final int SCM_RIGHTS = 1;

    // struct msghdr, struct iovec and struct cmsghdr on 64-bit Linux.
    private static final int MSGHDR_SIZE = 56;
    private static final int MSG_IOV = 16;
    private static final int MSG_IOVLEN = 24;
    private static final int MSG_CONTROL = 32;
    private static final int MSG_CONTROLLEN = 40;
    private static final int IOVEC_SIZE = 16;
    private static final int CMSG_LEVEL = 8;
    private static final int CMSG_TYPE = 12;
    private static final int CMSG_DATA = 16;
    /** CMSG_SPACE(sizeof(int)). */
    private static final int CMSG_SPACE_ONE_FD = 24;
    /** posix_spawn_file_actions_t is 80 bytes in glibc; room to spare. */
    private static final int FILE_ACTIONS_SIZE = 256;

    /** Public only because jnr generates its implementation elsewhere. */
    public interface Native {
        int socketpair(int domain, int type, int protocol, @Out int[] fds);

        int posix_spawn_file_actions_init(Pointer actions);

        int posix_spawn_file_actions_addclose(Pointer actions, int fd);

        int posix_spawn_file_actions_destroy(Pointer actions);

        int posix_spawnp(@Out int[] pid, String file, Pointer actions, Pointer attributes, Pointer argv, Pointer envp);

        @ssize_t
        long recvmsg(int fd, Pointer msghdr, int flags);

        int waitpid(int pid, @Out int[] status, int options);

        int dup2(int oldFd, int newFd);

        int close(int fd);
    }

    private static volatile Fusermount instance;

    private final Native lib;
    private final Runtime runtime;

    private Fusermount() {
        lib = LibraryLoader.create(Native.class).failImmediately().load("c");
        runtime = Runtime.getRuntime(lib);
    }

    static Fusermount get() {
        Fusermount f = instance;
        if (f == null) {
            synchronized (Fusermount.class) {
                f = instance;
                if (f == null) {
                    f = new Fusermount();
                    instance = f;
                }
            }
        }
        return f;
    }

    /**
     * Mounts /dev/fuse at {@code mountPoint} through fusermount3 with the given {@code -o} options and returns the
     * device the kernel connected to the mount. fusermount3's own complaint goes to this process's stderr.
     */
    DevFuse mount(Path mountPoint, String options) throws IOException {
        int[] pair = new int[2];
        if (lib.socketpair(AF_UNIX, SOCK_STREAM, 0, pair) != 0) {
            throw fail("socketpair", "fusermount3's socket");
        }
        int ours = pair[0];
        int theirs = pair[1];
        int pid;
        try {
            pid = spawn(List.of(PROGRAM, "-o", options, "--", mountPoint.toString()), theirs, ours);
        } catch (IOException e) {
            lib.close(ours);
            lib.close(theirs);
            throw e;
        }
        lib.close(theirs);
        int fd;
        try {
            fd = receiveDescriptor(ours);
        } finally {
            lib.close(ours);
            int status = reap(pid);
            if (status != 0) {
                LOG.debug("{} ended with wait status {}", PROGRAM, status);
            }
        }
        if (fd < 0) {
            throw new FsException(Errno.EPERM, PROGRAM + " did not mount " + mountPoint
                    + " (it said why above)");
        }
        DevFuse dev;
        try {
            dev = DevFuse.open();
        } catch (IOException e) {
            lib.close(fd);
            throw e;
        }
        // The channel's descriptor now refers to the mounted connection: Java can only open files by name.
        int moved = lib.dup2(fd, dev.fd);
        lib.close(fd);
        if (moved != dev.fd) {
            dev.close();
            throw fail("dup2", "the descriptor from " + PROGRAM);
        }
        return dev;
    }

    /** Starts the program with the socket's end {@code commFd} inherited and named in the environment. */
    private int spawn(List<String> argv, int commFd, int closeInChild) throws FsException {
        List<Pointer> keep = new ArrayList<>();
        List<String> env = new ArrayList<>();
        for (Map.Entry<String, String> e : System.getenv().entrySet()) {
            if (!e.getKey().equals(COMM_FD_VARIABLE)) {
                env.add(e.getKey() + "=" + e.getValue());
            }
        }
        env.add(COMM_FD_VARIABLE + "=" + commFd);
        Pointer argvArray = stringArray(argv, keep);
        Pointer envArray = stringArray(env, keep);
        Pointer actions = Memory.allocateDirect(runtime, FILE_ACTIONS_SIZE, true);
        if (lib.posix_spawn_file_actions_init(actions) != 0) {
            throw new FsException(Errno.ENOMEM, "posix_spawn_file_actions_init failed");
        }
        try {
            int rc = lib.posix_spawn_file_actions_addclose(actions, closeInChild);
            if (rc != 0) {
                throw FsException.of(Errno.of(rc), "posix_spawn_file_actions_addclose", PROGRAM);
            }
            int[] pid = new int[1];
            rc = lib.posix_spawnp(pid, PROGRAM, actions, null, argvArray, envArray);
            if (rc != 0) {
                throw FsException.of(Errno.of(rc), "cannot start " + PROGRAM + " (install the package fuse3)",
                        PROGRAM);
            }
            return pid[0];
        } finally {
            lib.posix_spawn_file_actions_destroy(actions);
        }
    }

    /** A NULL-terminated array of C strings; {@code keep} holds the strings' memory until the call is made. */
    private Pointer stringArray(List<String> strings, List<Pointer> keep) {
        int size = runtime.addressSize();
        Pointer array = Memory.allocateDirect(runtime, (strings.size() + 1) * size, true);
        for (int i = 0; i < strings.size(); i++) {
            byte[] bytes = strings.get(i).getBytes(StandardCharsets.UTF_8);
            Pointer s = Memory.allocateDirect(runtime, bytes.length + 1, true);
            s.put(0, bytes, 0, bytes.length);
            keep.add(s);
            array.putAddress((long) i * size, s.address());
        }
        keep.add(array);
        return array;
    }

    /** The descriptor fusermount3 sent, or -1 where it closed the socket without one (it failed). */
    private int receiveDescriptor(int socket) throws FsException {
        Pointer msg = Memory.allocateDirect(runtime, MSGHDR_SIZE, true);
        Pointer iov = Memory.allocateDirect(runtime, IOVEC_SIZE, true);
        Pointer data = Memory.allocateDirect(runtime, 1, true);
        Pointer control = Memory.allocateDirect(runtime, CMSG_SPACE_ONE_FD, true);
        iov.putAddress(0, data.address());
        iov.putLong(8, 1);
        msg.putAddress(MSG_IOV, iov.address());
        msg.putLong(MSG_IOVLEN, 1);
        msg.putAddress(MSG_CONTROL, control.address());
        msg.putLong(MSG_CONTROLLEN, CMSG_SPACE_ONE_FD);
        long n;
        while ((n = lib.recvmsg(socket, msg, 0)) < 0) {
            int errno = LastError.getLastError(runtime);
            if (errno != Errno.EINTR.code()) {
                throw FsException.of(Errno.of(errno), "recvmsg", "the socket to " + PROGRAM);
            }
        }
        if (n == 0 || msg.getLong(MSG_CONTROLLEN) < CMSG_DATA + 4) {
            return -1;
        }
        if (control.getInt(CMSG_LEVEL) != SOL_SOCKET || control.getInt(CMSG_TYPE) != SCM_RIGHTS) {
            throw new FsException(Errno.EIO, PROGRAM + " sent something other than a descriptor");
        }
        return control.getInt(CMSG_DATA);
    }

    /** Waits for the child; its wait status. */
    private int reap(int pid) {
        int[] status = new int[1];
        while (lib.waitpid(pid, status, 0) < 0) {
            if (LastError.getLastError(runtime) != Errno.EINTR.code()) {
                return -1;
            }
        }
        return status[0];
    }

    private FsException fail(String op, String what) {
        return FsException.of(Errno.of(LastError.getLastError(runtime)), op, what);
    }
}
