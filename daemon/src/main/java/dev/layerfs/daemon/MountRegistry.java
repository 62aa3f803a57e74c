package dev.layerfs.daemon;

import dev.layerfs.core.error.FsException;
import dev.layerfs.fuse.ServedMount;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The mounts this daemon serves. Each live one has a record in the run directory, named by its number: its
 * mount point, on the second line its ephemeral layer (empty if it has none), so that a daemon started after this
 * one died finds what it left ({@link StaleMounts}), then one line per layer directory, lowers then upper, which
 * {@code layerfs image rm} and {@code prune} read to keep the layers of a mount made by hand through this daemon
 * (image/ProcMounts). The record goes when the mount's session ends. Closing the
 * registry refuses new mounts and unmounts every live one.
 */
final class MountRegistry {
    private static final Logger LOG = LoggerFactory.getLogger(MountRegistry.class);

    /**
     * A live mount, the mount namespace it was made in (a descriptor the client passed, or -1), and whether it is
     * the daemon's own warm-up's (logged at debug only).
     */
    private record Live(ServedMount mount, int nsFd, boolean warmUp) {}

    private final Path records;
    private final ControlCalls calls = ControlCalls.get();
    private final Map<Long, Live> live = new ConcurrentHashMap<>();
    private final AtomicLong next = new AtomicLong(1);
    private volatile boolean closed;

    MountRegistry(Path records) {
        this.records = records;
    }

    long nextId() {
        return next.getAndIncrement();
    }

    boolean closed() {
        return closed;
    }

    /** Records a mount before its session starts; it is forgotten by {@link #ended} when the session ends. */
    synchronized void add(long id, ServedMount mount, Optional<Path> ephemeralLayer, List<Path> layers, int nsFd,
                          boolean warmUp) {
        live.put(id, new Live(mount, nsFd, warmUp));
        try {
            StringBuilder record = new StringBuilder().append(mount.mountPoint()).append('\n')
                    .append(ephemeralLayer.map(Path::toString).orElse(""));
            for (Path layer : layers) {
                record.append('\n').append(layer);
            }
            Files.write(records.resolve(Long.toString(id)), record.toString().getBytes(StandardCharsets.ISO_8859_1));
        } catch (IOException e) {
            LOG.warn("cannot record the mount {} in {}: {}", mount.mountPoint(), records, e.getMessage());
        }
    }

    /** The session of mount {@code id} ended (unmounted): its record and namespace descriptor go. */
    synchronized void ended(long id) {
        Live l = live.remove(id);
        if (l == null) {
            return;
        }
        if (l.nsFd >= 0) {
            calls.close(l.nsFd);
        }
        try {
            Files.deleteIfExists(records.resolve(Long.toString(id)));
        } catch (IOException e) {
            LOG.warn("cannot remove the record of mount {}: {}", id, e.getMessage());
        }
        if (l.warmUp) {
            LOG.debug("warm-up: unmounted {}", l.mount.mountPoint());
        } else {
            LOG.info("unmounted {}", l.mount.mountPoint());
        }
    }

    int size() {
        return live.size();
    }

    /**
     * Unmounts the warm-up's mounts still live (a warm-up client killed before it unmounted: the namespace
     * descriptor the daemon holds keeps its mounts) and waits up to {@code seconds} for their sessions to end; the
     * number still running then.
     */
    int endWarmUps(long seconds) {
        List<Live> warm;
        synchronized (this) {
            warm = live.values().stream().filter(Live::warmUp).toList();
        }
        for (Live l : warm) {
            unmount(l);
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        int left = 0;
        for (Live l : warm) {
            if (!l.mount.awaitEnd(Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime())))) {
                left++;
            }
        }
        return left;
    }

    /**
     * Refuses new mounts, unmounts every live one (lazily, as the per-process command does at SIGTERM) and waits
     * up to {@code seconds} for their sessions to end; the number still running then.
     */
    int close(long seconds) {
        List<Live> all;
        synchronized (this) {
            closed = true;
            all = new ArrayList<>(live.values());
        }
        for (Live l : all) {
            unmount(l);
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        int left = 0;
        for (Live l : all) {
            long ms = Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime()));
            if (!l.mount.awaitEnd(ms)) {
                left++;
            }
        }
        return left;
    }

    /**
     * umount2(MNT_DETACH) where the mount lies in this daemon's mount namespace; otherwise the same through
     * nsenter in the namespace the client mounted in (this JVM, being multi-threaded, cannot setns itself).
     */
    private void unmount(Live l) {
        String mp = l.mount.mountPoint().toString();
        if (l.nsFd < 0 || Namespaces.isOwnMountNamespace(l.nsFd)) {
            try {
                calls.umountDetached(mp);
            } catch (FsException e) {
                LOG.warn("cannot unmount {}: {}", mp, e.getMessage());
            }
            return;
        }
        try {
            Process p = new ProcessBuilder("nsenter", "--mount=/proc/" + ProcessHandle.current().pid() + "/fd/"
                    + l.nsFd, "umount", "-l", mp).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
            if (!p.waitFor(10, TimeUnit.SECONDS) || p.exitValue() != 0) {
                LOG.warn("cannot unmount {} in its mount namespace: {}", mp, out);
            }
        } catch (IOException e) {
            LOG.warn("cannot unmount {} in its mount namespace: {}", mp, e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
