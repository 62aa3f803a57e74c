package dev.layerfs.it;

import java.nio.file.Path;

/** A live layerfs mount made by the {@link MountExtension}: its mount point, daemon and launcher output. */
public final class LayerfsMount implements Unmountable {
    private final Path mountPoint;
    private final Daemon daemon;
    private final Sh.Result launch;
    private final Layers layers;
    private final java.time.Duration exitLimit;
    private boolean unmounted;

    LayerfsMount(Path mountPoint, Daemon daemon, Sh.Result launch, Layers layers, java.time.Duration exitLimit) {
        this.exitLimit = exitLimit;
        this.mountPoint = mountPoint;
        this.daemon = daemon;
        this.launch = launch;
        this.layers = layers;
    }

    @Override
    public Path mountPoint() {
        return mountPoint;
    }

    /** A path inside the mount. */
    public Path path(String relative) {
        return mountPoint.resolve(relative);
    }

    public Daemon daemon() {
        return daemon;
    }

    /** What the launcher printed and returned. */
    public Sh.Result launch() {
        return launch;
    }

    /** The directories mounted (null where the test gave the launcher its own arguments). */
    public Layers layers() {
        return layers;
    }

    /** umount (umount -l if busy), then waits for the daemon to exit; kills it and fails if it does not. */
    @Override
    public synchronized void unmount() {
        if (unmounted) {
            return;
        }
        unmounted = true;
        String log = daemonLog();
        try {
            Unmounter.unmount(mountPoint);
        } finally {
            Unmounter.reap(java.util.List.of(daemon), "the unmount of " + mountPoint, exitLimit);
        }
        java.util.List<String> errors = log.lines()
                .filter(l -> l.contains(" ERROR ") || l.contains("Exception") || l.contains("Error:")).toList();
        if (!errors.isEmpty()) {
            throw new AssertionError("the daemon of " + mountPoint + " logged errors:\n" + log);
        }
    }

    /**
     * What the background daemon has written to its stderr so far. bin/layerfs sends it to a log file that it
     * deletes once the mount is ready; the daemon still holds it open, so it is read through /proc/PID/fd/2.
     */
    public String daemonLog() {
        Path fd = Path.of("/proc", Long.toString(daemon.pid()), "fd", "2");
        try {
            String target = java.nio.file.Files.readSymbolicLink(fd).toString();
            if (!target.startsWith("/") || target.startsWith("/dev/")) {
                return "";
            }
            if (daemon.isGone()) {
                return "";
            }
            return java.nio.file.Files.readString(fd, java.nio.charset.StandardCharsets.UTF_8);
        } catch (java.io.IOException | RuntimeException e) {
            return "";
        }
    }

    @Override
    public String toString() {
        return "layerfs at " + mountPoint + " (" + daemon + ")";
    }
}
