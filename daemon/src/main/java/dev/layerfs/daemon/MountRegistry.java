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
     * the daemon's own warm-up's (logged at debug only). When its session ends the namespace descriptor is closed;
     * that and an unmount through the descriptor exclude each other (both hold the Live's lock), so that nsenter
     * is never handed a number that was just closed, or already reused for another file.
     */
    private static final class Live {
        final ServedMount mount;
        final int nsFd;
        final boolean warmUp;
        /** The session ended: nothing left to unmount, the descriptor closed. Guarded by this. */
        boolean ended;

        Live(ServedMount mount, int nsFd, boolean warmUp) {
            this.mount = mount;
            this.nsFd = nsFd;
            this.warmUp = warmUp;
        }

        boolean warmUp() {
            return warmUp;
        }
    }

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
        synchronized (l) {
            l.ended = true;
            if (l.nsFd >= 0) {
                calls.close(l.nsFd);
            }
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
     * Ends the warm-up's mounts: first waits up to {@code graceMillis} for their sessions to end by themselves (a
     * client that finished unmounted its mounts, and the sessions see that a moment later), then unmounts those
     * still live (a warm-up client killed before it unmounted: the namespace descriptor the daemon holds keeps
     * its mounts) and waits up to {@code seconds} for their sessions to end; the number still running then.
     */
    int endWarmUps(long graceMillis, long seconds) {
        List<Live> warm;
        synchronized (this) {
            warm = live.values().stream().filter(Live::warmUp).toList();
        }
        long graceEnd = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(graceMillis);
        for (Live l : warm) {
            long ms = TimeUnit.NANOSECONDS.toMillis(graceEnd - System.nanoTime());
            if (ms <= 0) {
                break;
            }
            l.mount.awaitEnd(ms);
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
     * Unless its session has ended already: umount2(MNT_DETACH) where the mount lies in this daemon's mount
     * namespace; otherwise the same through nsenter in the namespace the client mounted in (this JVM, being
     * multi-threaded, cannot setns itself).
     */
    private void unmount(Live l) {
        synchronized (l) {
            if (!l.ended) {
                unmountLive(l);
            }
        }
    }

    private void unmountLive(Live l) {
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
            ProcessBuilder pb = new ProcessBuilder("nsenter", "--mount=/proc/" + ProcessHandle.current().pid()
                    + "/fd/" + l.nsFd, "umount", "-l", mp).redirectErrorStream(true);
            pb.environment().put("LC_ALL", "C"); // umount's messages untranslated: "not mounted." is read below
            Process p = pb.start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
            if (!p.waitFor(10, TimeUnit.SECONDS)) {
                LOG.warn("cannot unmount {} in its mount namespace: nsenter did not return", mp);
            } else if (p.exitValue() != 0 && out.endsWith("not mounted.")) {
                // Unmounted by its client meanwhile; its session is ending.
                LOG.debug("{} was unmounted already", mp);
            } else if (p.exitValue() != 0) {
                LOG.warn("cannot unmount {} in its mount namespace: {}", mp, out);
            }
        } catch (IOException e) {
            LOG.warn("cannot unmount {} in its mount namespace: {}", mp, e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
