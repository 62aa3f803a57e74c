package dev.layerfs.daemon;

import dev.layerfs.core.error.Errno;
import dev.layerfs.core.error.FsException;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * One client's connection to the control socket, framed as the client ({@code daemon/src/main/c}) frames it: a
 * frame is a 4-byte big-endian length, then that many bytes of NUL-terminated fields. Descriptors the client
 * passes (SCM_RIGHTS) arrive with the bytes they were sent with, so every read is a recvmsg and the descriptors
 * are handed out with the frame they came in.
 */
final class ControlConnection implements AutoCloseable {
    /** The largest frame accepted: a command line with its environment. */
    static final int MAX_FRAME = 1 << 20;

    /** A frame's fields and the descriptors that came with it (owned by the receiver). */
    record Frame(List<String> fields, int[] fds) {
        String kind() {
            return fields.isEmpty() ? "" : fields.get(0);
        }
    }

    private final ControlCalls calls = ControlCalls.get();
    private final int fd;
    /** Whether it came on the warm-up's socket ({@link WarmUp}): its mounts are the daemon's own. */
    private final boolean warmUp;
    private byte[] pending = new byte[0];
    private final List<Integer> pendingFds = new ArrayList<>();

    ControlConnection(int fd, boolean warmUp) {
        this.fd = fd;
        this.warmUp = warmUp;
    }

    boolean warmUp() {
        return warmUp;
    }

    /** {pid, uid, gid} of the process that connected. */
    int[] peer() throws FsException {
        return calls.peer(fd);
    }

    /** The next frame, or null where the client closed the connection between frames. */
    Frame read() throws FsException {
        if (!fill(4)) {
            return null;
        }
        int length = ByteBuffer.wrap(pending, 0, 4).getInt();
        if (length < 0 || length > MAX_FRAME) {
            throw FsException.of(Errno.E2BIG, "read", "control socket (a frame of " + length + " bytes)");
        }
        if (!fill(4 + length)) {
            throw FsException.of(Errno.EPIPE, "read", "control socket");
        }
        String body = new String(pending, 4, length, StandardCharsets.ISO_8859_1);
        pending = Arrays.copyOfRange(pending, 4 + length, pending.length);
        int[] fds = pendingFds.stream().mapToInt(Integer::intValue).toArray();
        pendingFds.clear();
        List<String> fields = new ArrayList<>(Arrays.asList(body.split("\0", -1)));
        if (!fields.isEmpty() && fields.get(fields.size() - 1).isEmpty()) {
            fields.remove(fields.size() - 1);
        }
        return new Frame(fields, fds);
    }

    /** Reads until {@code n} bytes are pending; false at end of stream with none pending. */
    private boolean fill(int n) throws FsException {
        while (pending.length < n) {
            ControlCalls.Received r = calls.receive(fd);
            for (int d : r.fds()) {
                pendingFds.add(d);
            }
            byte[] got = r.bytes();
            if (got.length == 0) {
                if (pending.length == 0) {
                    return false;
                }
                throw FsException.of(Errno.EPIPE, "read", "control socket");
            }
            if (pending.length == 0) {
                pending = got;
            } else {
                byte[] more = Arrays.copyOf(pending, pending.length + got.length);
                System.arraycopy(got, 0, more, pending.length, got.length);
                pending = more;
            }
        }
        return true;
    }

    /** Sends one frame of messages, in UTF-8 as the command prints them without a daemon. */
    void write(String... fields) throws FsException {
        write(StandardCharsets.UTF_8, fields);
    }

    /**
     * Sends one frame of file names and mount parameters: ISO-8859-1, the charset this daemon's file names are
     * decoded with, so every byte the client gave comes back as it was.
     */
    void writeNames(String... fields) throws FsException {
        write(StandardCharsets.ISO_8859_1, fields);
    }

    private void write(java.nio.charset.Charset charset, String... fields) throws FsException {
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        for (String f : fields) {
            body.writeBytes(f.getBytes(charset));
            body.write(0);
        }
        byte[] frame = ByteBuffer.allocate(4 + body.size()).putInt(body.size()).put(body.toByteArray()).array();
        calls.writeFully(fd, frame);
    }

    /** Closes the connection and any descriptor received and not taken. */
    @Override
    public void close() {
        for (int d : pendingFds) {
            calls.close(d);
        }
        pendingFds.clear();
        calls.close(fd);
    }
}
