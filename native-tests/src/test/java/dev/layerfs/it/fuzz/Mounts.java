package dev.layerfs.it.fuzz;

import dev.layerfs.it.Daemon;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

/**
 * The fuzzer's mounts: the kernel overlay ({@code mount -t overlay}) and layerfs (the launcher, {@code bin/layerfs},
 * from the system property {@code layerfs.launcher}). Each mount is owned by the batch that made it, which
 * unmounts it (umount, then umount -l where busy) and waits for the layerfs daemon it started to exit.
 */
final class Mounts {
    /** The mounts made and not yet unmounted: a JVM shutdown (Ctrl-C, a killed build) still takes them down. */
    private static final java.util.Set<Mount> LIVE = java.util.concurrent.ConcurrentHashMap.newKeySet();

    /**
     * Mounts being made right now, and whether the JVM is shutting down: the batch thread keeps running while the
     * shutdown hook runs, so the hook first stops new mounts, then waits for those in flight, then takes down all.
     */
    private static final Object GATE = new Object();
    private static int inFlight;
    private static boolean closing;

    static {
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            synchronized (GATE) {
                closing = true;
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(130);
                while (inFlight > 0 && System.nanoTime() < deadline) {
                    try {
                        GATE.wait(Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime())));
                    } catch (InterruptedException e) {
                        break;
                    }
                }
            }
            for (Mount m : LIVE) {
                exec(List.of("umount", "-l", m.mountPoint.toString()));
                if (m.daemon != null && !m.daemon.awaitExit(Duration.ofSeconds(5))) {
                    m.daemon.kill();
                }
            }
        }, "layerfs-fuzz-unmount"));
    }

    private static void enter(Path mp) {
        synchronized (GATE) {
            if (closing) {
                throw new IllegalStateException("not mounting " + mp + ": the JVM is shutting down");
            }
            inFlight++;
        }
    }

    private static void leave() {
        synchronized (GATE) {
            inFlight--;
            GATE.notifyAll();
        }
    }

    private Mounts() {}

    /** A mounted file system, as the batch owns it. */
    static final class Mount {
        final Path mountPoint;
        final Daemon daemon; // null for the kernel overlay
        private boolean unmounted;

        Mount(Path mountPoint, Daemon daemon) {
            this.mountPoint = mountPoint;
            this.daemon = daemon;
            LIVE.add(this);
        }

        boolean alive() {
            return daemon == null || !daemon.isGone();
        }

        synchronized void unmount() {
            if (unmounted) {
                return;
            }
            unmounted = true;
            try {
                Mounts.unmount(mountPoint);
            } finally {
                LIVE.remove(this);
                if (daemon != null && !daemon.awaitExit(Duration.ofSeconds(15))) {
                    daemon.kill();
                    throw new IllegalStateException("the layerfs daemon " + daemon.pid() + " for " + mountPoint
                            + " did not exit within 15 s of the unmount (killed)");
                }
            }
        }

        /** Ends a hung mount: kills the daemon this batch started, so every request waiting on it fails. */
        void abort() {
            if (daemon != null) {
                daemon.kill();
            }
        }
    }

    static Path launcher() {
        String p = System.getProperty("layerfs.launcher");
        if (p != null) {
            return Path.of(p).toAbsolutePath().normalize();
        }
        for (Path c : List.of(Path.of("bin/layerfs"), Path.of("../bin/layerfs"))) {
            if (Files.isExecutable(c)) {
                return c.toAbsolutePath().normalize();
            }
        }
        throw new IllegalStateException("set -Dlayerfs.launcher=/path/to/bin/layerfs");
    }

    static String options(List<Path> lowers, Path upper, Path work, String extra) {
        String o = "lowerdir=" + lowers.stream().map(Path::toString).collect(Collectors.joining(":"))
                + ",upperdir=" + upper + ",workdir=" + work;
        return extra == null || extra.isBlank() ? o : o + "," + extra;
    }

    static Mount kernel(List<Path> lowers, Path upper, Path work, Path mp, String extra) {
        enter(mp);
        try {
            run(List.of("mount", "-t", "overlay", "overlay", "-o", options(lowers, upper, work, extra),
                    mp.toString()), "mount -t overlay at " + mp);
            return new Mount(mp, null);
        } finally {
            leave();
        }
    }

    static Mount layerfs(List<Path> lowers, Path upper, Path work, Path mp, String extra) {
        enter(mp);
        try {
            run(List.of(launcher().toString(), "-o", options(lowers, upper, work, extra), mp.toString()),
                    "layerfs at " + mp);
            List<Daemon> found = Daemon.forMountPoint(mp);
            if (found.size() != 1) {
                unmount(mp);
                throw new IllegalStateException("expected one layerfs daemon for " + mp + ", found " + found);
            }
            return new Mount(mp, found.get(0));
        } finally {
            leave();
        }
    }

    static void unmount(Path mp) {
        for (int i = 0; i < 4 && isMounted(mp); i++) {
            if (exec(List.of("umount", mp.toString())).code != 0 && isMounted(mp)) {
                exec(List.of("umount", "-l", mp.toString()));
            }
        }
        if (isMounted(mp)) {
            throw new IllegalStateException("cannot unmount " + mp);
        }
    }

    static boolean isMounted(Path mp) {
        String target = " " + mp.toAbsolutePath().normalize() + " ";
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/mountinfo"))) {
                String[] f = line.split(" ", 6);
                if (f.length > 5 && (" " + f[4] + " ").equals(target)) {
                    return true;
                }
            }
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        return false;
    }

    record Result(int code, String output) {}

    static Result exec(List<String> cmd) {
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectInput(ProcessBuilder.Redirect.from(
                    new java.io.File("/dev/null"))).start();
            // The launcher's daemon inherits no descriptor of ours (it runs with its own log), so this ends.
            byte[] out = p.getInputStream().readAllBytes();
            if (!p.waitFor(120, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return new Result(-1, "timed out: " + String.join(" ", cmd));
            }
            return new Result(p.exitValue(), new String(out, StandardCharsets.UTF_8).trim());
        } catch (IOException e) {
            return new Result(-1, e.toString());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new Result(-1, "interrupted");
        }
    }

    private static void run(List<String> cmd, String what) {
        Result r = exec(cmd);
        if (r.code != 0) {
            throw new IllegalStateException(what + " failed (" + r.code + "): " + r.output);
        }
    }

    static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
