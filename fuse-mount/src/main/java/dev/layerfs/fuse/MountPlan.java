package dev.layerfs.fuse;

import dev.layerfs.core.Overlay;
import dev.layerfs.fuse.kernel.KernelSession;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A mount the resident daemon was asked for, checked and ready to serve: the {@code layerfs} command line parsed
 * and checked exactly as the command does it in a process of its own ({@link CommandLine}, {@link MountDaemon}'s
 * checks), with relative paths taken from the caller's directory and the transport chosen by the caller's
 * environment; its engine open and its kernel session made, not yet mounted. The caller mounts with
 * {@link #mountCall()} and passes its /dev/fuse descriptor to {@link ServedMount#of}; a plan never mounted is
 * {@link #abandon()}ed.
 */
public final class MountPlan {
    private final CommandLine cl;
    private final MountDaemon setup;
    private final Path mountPoint;
    private final Overlay overlay;
    private final KernelSession session;

    private MountPlan(CommandLine cl, MountDaemon setup, Path mountPoint, Overlay overlay, KernelSession session) {
        this.cl = cl;
        this.setup = setup;
        this.mountPoint = mountPoint;
        this.overlay = overlay;
        this.session = session;
    }

    /**
     * Parses and checks a command line given in directory {@code cwd} with environment {@code env}; refused with
     * the line and status the command gives without a daemon, or as served elsewhere.
     */
    public static MountPlan prepare(List<String> args, Path cwd, Map<String, String> env) throws MountRefusal {
        return prepare(args, cwd, env, Optional.empty());
    }

    /** The same, an ephemeral layer made in {@code tmpDir} (else in the daemon's java.io.tmpdir). */
    public static MountPlan prepare(List<String> args, Path cwd, Map<String, String> env, Optional<Path> tmpDir)
            throws MountRefusal {
        CommandLine cl;
        try {
            cl = CommandLine.parse(args.toArray(String[]::new), env::get);
        } catch (UsageException e) {
            throw MountRefusal.error(e.getMessage(), 2);
        }
        if (cl.help || cl.version || cl.foreground || cl.readyFile.isPresent()) {
            throw MountRefusal.servedElsewhere("help, version and foreground runs are not the daemon's");
        }
        if (!cl.transport.equals(TransportChoice.KERNEL)) {
            throw MountRefusal.servedElsewhere("the daemon serves the kernel transport only");
        }
        cl.resolveAgainst(cwd);
        cl.tmpDir = tmpDir;
        MountDaemon setup = new MountDaemon(cl);
        KernelTransport transport = new KernelTransport(cl);
        Overlay overlay = null;
        try {
            Path mountPoint = setup.check(transport);
            overlay = setup.openOverlay(cl.options);
            return new MountPlan(cl, setup, mountPoint, overlay, transport.session(overlay, mountPoint));
        } catch (MountException e) {
            if (overlay != null) {
                setup.finish(overlay);
            }
            throw MountRefusal.error(e.getMessage(), 1);
        }
    }

    /** The warnings the command prints before mounting (unknown options), one line each. */
    public List<String> warnings() {
        List<String> out = new ArrayList<>();
        for (String unknown : cl.options.unknown) {
            out.add("warning: unknown option " + unknown + " ignored");
        }
        return out;
    }

    public Path mountPoint() {
        return mountPoint;
    }

    /** The directory of the ephemeral upper layer made for this mount, if it has one. */
    public Optional<Path> ephemeralLayer() {
        return setup.ephemeralLayer();
    }

    /**
     * Deletes the ephemeral layer a mount left when the process serving it died (its directory, as
     * {@link #ephemeralLayer()} named it); anything but such a directory is left alone.
     */
    public static void deleteLeftEphemeralLayer(Path dir) {
        if (dir.getFileName() != null && dir.getFileName().toString().startsWith("layerfs-ephemeral-")
                && java.nio.file.Files.isDirectory(dir, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            MountDaemon.deleteTree(dir);
        }
    }

    /** The directories the mount reads and writes: its lower layers, then its upper layer if it has one. */
    public List<Path> layerDirectories() {
        List<Path> out = new ArrayList<>(cl.options.lowerDirs);
        cl.options.upperDir.ifPresent(out::add);
        return out;
    }

    /** What to give mount(2). */
    public KernelSession.MountCall mountCall() {
        return session.mountCall();
    }

    /** A one-line description for logs. */
    public String describe() {
        return mountPoint + " (" + overlay.stack().layers().size() + " layers"
                + (overlay.readOnly() ? ", read-only" : "") + ")";
    }

    KernelSession session() {
        return session;
    }

    /** Closes the engine and deletes an ephemeral upper layer: after the session ended, or instead of mounting. */
    public void abandon() {
        setup.finish(overlay);
    }
}
