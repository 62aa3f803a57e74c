package dev.layerfs.daemon;

import java.util.ArrayDeque;
import java.util.Deque;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Services the daemon runs beside the mounts (the containerd snapshotter of {@code snapshotter/} is started
 * here by {@link ServeCommand}): each started once the control socket listens, all closed, newest first, when the
 * daemon stops and before its mounts are unmounted. A service that fails to start stops the daemon's start.
 */
final class Services implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Services.class);

    /** Starts a service; what it returns is closed when the daemon stops. */
    @FunctionalInterface
    interface Starter {
        AutoCloseable start() throws Exception;
    }

    private final Deque<Named> running = new ArrayDeque<>();

    private record Named(String name, AutoCloseable service) {}

    void start(String name, Starter starter) throws ServeException {
        try {
            running.push(new Named(name, starter.start()));
            LOG.info("started {}", name);
        } catch (Exception e) {
            throw new ServeException("cannot start " + name + ": " + e.getMessage());
        }
    }

    @Override
    public void close() {
        while (!running.isEmpty()) {
            Named n = running.pop();
            try {
                n.service.close();
            } catch (Exception e) {
                LOG.warn("stopping {} failed: {}", n.name, e.toString());
            }
        }
    }
}
