package dev.layerfs.daemon;

import dev.layerfs.core.error.FsException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.concurrent.ExecutorService;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A unix socket the mount client connects to (0600; {@link HandOver} also checks the peer's uid), and the thread
 * that accepts on it and hands each connection to a client thread. The daemon's control socket is one, its
 * warm-up's ({@link WarmUp}) another.
 */
final class ControlSocket implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ControlSocket.class);

    private final ControlCalls calls = ControlCalls.get();
    private final Path path;
    private final int fd;
    private final boolean warmUp;
    private volatile boolean closing;

    private ControlSocket(Path path, int fd, boolean warmUp) {
        this.path = path;
        this.fd = fd;
        this.warmUp = warmUp;
    }

    /**
     * Listens on {@code path} (replacing a stale socket there) and serves every connection with {@code handOver}
     * on a thread of {@code clients}; {@code failed} runs if accepting fails other than by {@link #close}. With
     * {@code warmUp} it is the warm-up's: the mounts asked for on it are the daemon's own ({@link WarmUp}).
     */
    static ControlSocket open(Path path, HandOver handOver, ExecutorService clients, Runnable failed,
                              boolean warmUp) throws IOException {
        ControlCalls calls = ControlCalls.get();
        Files.deleteIfExists(path);
        int fd = calls.listen(path.toString());
        ControlSocket s = new ControlSocket(path, fd, warmUp);
        try {
            Files.setPosixFilePermissions(path, PosixFilePermissions.fromString("rw-------"));
        } catch (IOException e) {
            s.close();
            throw e;
        }
        Thread acceptor = new Thread(() -> s.accept(handOver, clients, failed), "control");
        acceptor.setDaemon(true);
        acceptor.start();
        return s;
    }

    private void accept(HandOver handOver, ExecutorService clients, Runnable failed) {
        while (true) {
            int c;
            try {
                c = calls.accept(fd);
            } catch (FsException e) {
                if (!closing) {
                    LOG.error("the control socket {} failed: {}", path, e.getMessage());
                    failed.run();
                }
                return;
            }
            clients.execute(() -> handOver.serve(new ControlConnection(c, warmUp)));
        }
    }

    Path path() {
        return path;
    }

    /** Stops accepting and removes the socket; connections already accepted go on. */
    @Override
    public void close() {
        closing = true;
        calls.shutdown(fd);
        calls.close(fd);
        try {
            Files.deleteIfExists(path);
        } catch (IOException e) {
            LOG.debug("cannot remove {}: {}", path, e.getMessage());
        }
    }
}
