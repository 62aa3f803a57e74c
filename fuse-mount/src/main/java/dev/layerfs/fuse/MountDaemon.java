package dev.layerfs.fuse;

import dev.layerfs.core.Overlay;
import dev.layerfs.core.bytes.ByteString;
import dev.layerfs.core.error.FsException;
import dev.layerfs.core.model.ConfigException;
import dev.layerfs.core.model.LayerStack;
import dev.layerfs.core.model.OverlayConfig;
import dev.layerfs.core.nativeio.Linux;
import dev.layerfs.core.nativeio.Syscalls;
import dev.layerfs.image.store.LayerStore;
import java.io.IOException;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import sun.misc.Signal;

/**
 * One mount's life: checks, the FUSE loop on its own thread, readiness (the kernel has sent INIT and a stat of
 * the mount point is answered), then waiting until the mount point is unmounted or a signal (TERM, INT, HUP)
 * asks for an unmount. An ephemeral upper layer is deleted at the end.
 */
final class MountDaemon {
    private static final Logger LOG = LoggerFactory.getLogger(MountDaemon.class);
    private static final long READY_TIMEOUT_SECONDS = 30;

    private final CommandLine cl;
    private final Syscalls sys = Syscalls.get();
    private Path ephemeralDir;
    /** What {@link #check} found of the layers, for {@link #openOverlay} to check the lower layers only once. */
    private LayerStack.Checks checks;

    MountDaemon(CommandLine cl) {
        this.cl = cl;
    }

    /** Mounts and serves until unmounted; returns the exit status. */
    int run() throws MountException {
        Transport transport = Transport.of(cl);
        transport.prepareInBackground();
        Path mountPoint = check(transport);
        Overlay overlay = openOverlay(cl.options);
        Transport.Session session;
        try {
            session = transport.open(overlay, mountPoint);
        } catch (MountException e) {
            finish(overlay);
            throw e;
        }
        AtomicReference<Throwable> loopFailure = new AtomicReference<>();
        Thread loop = new Thread(() -> {
            try {
                session.serve();
            } catch (Throwable t) {
                loopFailure.set(t);
            }
        }, "fuse-session");
        loop.start();
        try {
            awaitReady(session, loop, loopFailure, mountPoint);
        } catch (MountException e) {
            unmount(mountPoint);
            joinQuietly(loop, 5);
            finish(overlay);
            throw e;
        }
        for (String sig : List.of("TERM", "INT", "HUP")) {
            Signal.handle(new Signal(sig), s -> {
                LOG.info("SIG{}: unmounting {}", sig, mountPoint);
                unmount(mountPoint);
            });
        }
        LOG.info("mounted {} ({} layers{}, transport {})", mountPoint, overlay.stack().layers().size(),
                overlay.readOnly() ? ", read-only" : "", cl.transport);
        cl.readyFile.ifPresent(f -> writeReady(f, "ready"));
        sys.bindRestInBackground();
        IdleHeapTrim.start();
        joinQuietly(loop, Long.MAX_VALUE);
        finish(overlay);
        LOG.info("unmounted {}", mountPoint);
        return 0;
    }

    /**
     * Every check made before anything is created or mounted, the layers' own mistakes first; the resolved mount
     * point. The resident daemon makes the same checks for each mount it is asked for.
     */
    Path check(Transport transport) throws MountException {
        MountOptions o = cl.options;
        if (o.ephemeral && o.upperDir.isPresent()) {
            throw new MountException("ephemeral and upperdir exclude each other: ephemeral makes its own upper layer");
        }
        if (o.upperDir.isPresent() != o.workDir.isPresent() && !o.readOnly) {
            throw new MountException(o.upperDir.isPresent() ? "upperdir given without a workdir"
                    : "workdir given without an upperdir");
        }
        requireByteCharset();
        boolean root = sys.geteuid() == 0;
        if (!root && (o.suid.orElse(false) || o.dev.orElse(false))) {
            throw new MountException("suid and dev need the mount to be made by root (fusermount refuses them)");
        }
        checks = validateLayers(o);
        transport.preflight();
        // the layers checked by their real paths; an upperdir and workdir a read-only or ephemeral mount does not
        // use are resolved where they exist
        List<Path> layers = new ArrayList<>(checks.realPaths());
        if ((o.readOnly || o.ephemeral) && o.upperDir.isPresent()) {
            layers.addAll(Preflight.existing(List.of(o.upperDir.get())));
        }
        if ((o.readOnly || o.ephemeral) && o.workDir.isPresent()) {
            layers.addAll(Preflight.existing(List.of(o.workDir.get())));
        }
        return Preflight.mountPoint(cl.mountPoint, layers);
    }

    /**
     * jnr-fuse hands names over as {@code String}s made with the JVM's default charset; only ISO-8859-1 keeps every
     * byte of a name (see {@link OverlayFuse}). The launcher sets it; a JVM started otherwise is refused.
     */
    private static void requireByteCharset() throws MountException {
        if (!Charset.defaultCharset().equals(StandardCharsets.ISO_8859_1)) {
            throw new MountException("the JVM's default charset is " + Charset.defaultCharset()
                    + ", not ISO-8859-1: file names that are not UTF-8 would be changed; start layerfs through"
                    + " bin/layerfs (or with -Dfile.encoding=ISO-8859-1)");
        }
    }

    /** The layers' own mistakes come first: they are the user's to fix, whatever else is wrong. */
    private static LayerStack.Checks validateLayers(MountOptions o) throws MountException {
        boolean lowersOnly = o.readOnly || o.ephemeral;
        Optional<Path> upper = lowersOnly ? Optional.empty() : o.upperDir;
        Optional<Path> work = lowersOnly ? Optional.empty() : o.workDir;
        try {
            return LayerStack.validate(new OverlayConfig(o.lowerDirs, upper, work, o.fsync, o.idMapping()));
        } catch (ConfigException e) {
            throw new MountException(e.getMessage());
        }
    }

    Overlay openOverlay(MountOptions o) throws MountException {
        Optional<Path> upper = o.readOnly ? Optional.empty() : o.upperDir;
        Optional<Path> work = o.readOnly ? Optional.empty() : o.workDir;
        if (o.ephemeral && !o.readOnly) {
            try {
                ephemeralDir = cl.tmpDir.isPresent()
                        ? Files.createTempDirectory(cl.tmpDir.get(), "layerfs-ephemeral-")
                        : Files.createTempDirectory("layerfs-ephemeral-");
                upper = Optional.of(Files.createDirectory(ephemeralDir.resolve("upper")));
                work = Optional.of(Files.createDirectory(ephemeralDir.resolve("work")));
            } catch (IOException e) {
                throw new MountException("cannot create the ephemeral upper layer: " + e.getMessage());
            }
        }
        try {
            return Overlay.open(new OverlayConfig(o.lowerDirs, upper, work, o.fsync, o.idMapping(), o.features),
                    checks);
        } catch (ConfigException e) {
            deleteEphemeral();
            throw new MountException(e.getMessage());
        }
    }

    private void awaitReady(Transport.Session fuse, Thread loop, AtomicReference<Throwable> failure, Path mountPoint)
            throws MountException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(READY_TIMEOUT_SECONDS);
        try {
            while (!fuse.initialized().await(10, TimeUnit.MILLISECONDS)) {
                if (!loop.isAlive()) {
                    Throwable t = failure.get();
                    throw new MountException("mounting " + mountPoint + " failed"
                            + (t == null ? " (the transport said why above)" : ": " + t.getMessage()));
                }
                if (System.nanoTime() > deadline) {
                    throw new MountException("the mount at " + mountPoint + " did not start within "
                            + READY_TIMEOUT_SECONDS + " s");
                }
            }
            sys.lstat(Linux.AT_FDCWD, ByteString.ofPath(mountPoint).latin1());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new MountException("interrupted while mounting " + mountPoint);
        } catch (FsException e) {
            throw new MountException("the mount at " + mountPoint + " does not answer: " + e.getMessage());
        }
    }

    /** Unmounts: umount2 as root, else fusermount3 / fusermount. The FUSE loop then ends by itself. */
    static void unmount(Path mountPoint) {
        Syscalls sys = Syscalls.get();
        if (sys.geteuid() == 0) {
            try {
                sys.umount(ByteString.ofPath(mountPoint).latin1());
                return;
            } catch (FsException e) {
                LOG.debug("umount {}: {}", mountPoint, e.getMessage());
            }
        }
        for (String tool : List.of("fusermount3", "fusermount")) {
            try {
                Process p = new ProcessBuilder(tool, "-u", "-z", mountPoint.toString())
                        .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
                if (p.waitFor(10, TimeUnit.SECONDS) && p.exitValue() == 0) {
                    return;
                }
            } catch (IOException e) {
                LOG.debug("{}: {}", tool, e.getMessage());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    /** The directory of the ephemeral upper layer this mount made, while it exists. */
    Optional<Path> ephemeralLayer() {
        return Optional.ofNullable(ephemeralDir);
    }

    void finish(Overlay overlay) {
        overlay.close();
        deleteEphemeral();
    }

    private void deleteEphemeral() {
        if (ephemeralDir == null) {
            return;
        }
        deleteTree(ephemeralDir);
        ephemeralDir = null;
    }

    /**
     * Deletes an ephemeral layer's directory tree, logging what cannot be deleted; a file system mounted inside it
     * stops the delete (LayerStore's tree delete, which never crosses into another file system).
     */
    static void deleteTree(Path ephemeralDir) {
        try {
            LayerStore.deleteTree(ephemeralDir);
        } catch (IOException e) {
            LOG.warn("cannot delete the ephemeral layer {}: {}", ephemeralDir, e.getMessage());
        }
    }

    private static void joinQuietly(Thread t, long seconds) {
        try {
            t.join(seconds == Long.MAX_VALUE ? 0 : TimeUnit.SECONDS.toMillis(seconds));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Tells the launcher waiting in the background: "ready", or "error: ..." (written atomically). */
    static void writeReady(Path file, String line) {
        try {
            Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
            Files.writeString(tmp, line + "\n", StandardCharsets.UTF_8);
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            LOG.warn("cannot write the ready file {}: {}", file, e.getMessage());
        }
    }
}
