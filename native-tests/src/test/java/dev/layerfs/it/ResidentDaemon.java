package dev.layerfs.it;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * A {@code layerfs serve} daemon started by a test, with its own run directory and log; mounts go through the
 * mount client with {@code LAYERFS_RUN_DIR} naming that directory. {@link #close} stops it by its pid (SIGTERM,
 * then SIGKILL if it does not go) and detaches whatever layerfs mount it leaves below the test's directory.
 */
public final class ResidentDaemon implements AutoCloseable {
    private static final Duration START_LIMIT = Duration.ofSeconds(60);

    private final Path runDir;
    private final Path log;
    private final Path cleanupRoot;
    private final List<String> serveArgs;
    private Process process;

    private ResidentDaemon(Path runDir, Path log, Path cleanupRoot, List<String> serveArgs) {
        this.runDir = runDir;
        this.log = log;
        this.cleanupRoot = cleanupRoot;
        this.serveArgs = serveArgs;
    }

    /**
     * Starts a daemon for a test whose files are below {@code testRoot} (its log and temporary directories go
     * there); returns once its control socket listens. The run directory is a short one of its own in /tmp: a
     * socket's path has at most 107 bytes.
     */
    public static ResidentDaemon start(Path testRoot) {
        return start(testRoot, List.of());
    }

    /** The same, with more arguments for {@code layerfs serve} (say -d). */
    public static ResidentDaemon start(Path testRoot, List<String> serveArgs) {
        Path runDir;
        try {
            runDir = Files.createTempDirectory(Path.of("/tmp"), "lfs-run-");
            Files.createDirectories(testRoot.resolve("daemon-tmp"));
            Files.createDirectories(testRoot.resolve("client-tmp"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        ResidentDaemon d = new ResidentDaemon(runDir, testRoot.resolve("serve.log"), testRoot, serveArgs);
        d.restart();
        return d;
    }

    /** The daemon's TMPDIR (where ephemeral layers go). */
    public Path daemonTmp() {
        return cleanupRoot.resolve("daemon-tmp");
    }

    /** Starts (again) a daemon on the same run directory, appending to the same log. */
    public void restart() {
        long startsBefore = starts();
        try {
            List<String> cmd = new ArrayList<>(List.of(MountExtension.launcher().toString(), "serve", "--run-dir",
                    runDir.toString()));
            cmd.addAll(serveArgs);
            ProcessBuilder pb = new ProcessBuilder(cmd);
            pb.redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
            pb.environment().put("TMPDIR", daemonTmp().toString());
            process = pb.start();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        long deadline = System.nanoTime() + START_LIMIT.toNanos();
        // The socket is bound and made 0600 before the log says "serving": wait for that line.
        while (starts() == startsBefore) {
            if (!process.isAlive() || System.nanoTime() > deadline) {
                close();
                throw new AssertionError("layerfs serve did not start:\n" + log());
            }
            sleep(20);
        }
    }

    private long starts() {
        return log().lines().filter(l -> l.contains("serving mounts")).count();
    }

    public long pid() {
        return process.pid();
    }

    public Path runDir() {
        return runDir;
    }

    /**
     * The environment that sends a mount command to this daemon (LAYERFS_DAEMON, which the build sets to off for
     * every other test, emptied).
     */
    public Map<String, String> env() {
        return Map.of("LAYERFS_RUN_DIR", runDir.toString(), "LAYERFS_DAEMON", "",
                "TMPDIR", cleanupRoot.resolve("client-tmp").toString());
    }

    /** bin/layerfs ARGS..., handed over to this daemon. */
    public Sh.Result layerfs(String... args) {
        List<String> cmd = new ArrayList<>(List.of(MountExtension.launcher().toString()));
        cmd.addAll(List.of(args));
        return Sh.run(cmd, env(), null, Duration.ofSeconds(60));
    }

    /** Mounts through this daemon; fails the test where the command does not exit 0. */
    public void mount(String options, Path mountPoint) {
        layerfs("-o", options, mountPoint.toString()).assertOk();
    }

    public String log() {
        try {
            return Files.exists(log) ? Files.readString(log, StandardCharsets.UTF_8) : "";
        } catch (IOException e) {
            return "";
        }
    }

    /** The lines of the log at WARN or ERROR, or with a stack trace. */
    public List<String> problems() {
        return log().lines().filter(l -> l.contains(" WARN ") || l.contains(" ERROR ") || l.contains("Exception"))
                .toList();
    }

    /**
     * What the daemon's open descriptors point at, sorted (one entry per descriptor), leaving out the jars the JVM
     * opens once, the first time it loads a class from one: a mount path taken for the first time may do that.
     */
    public List<String> openFds() {
        List<String> targets = new java.util.ArrayList<>();
        try (var s = Files.list(Path.of("/proc", Long.toString(pid()), "fd"))) {
            for (Path fd : s.toList()) {
                try {
                    targets.add(Files.readSymbolicLink(fd).toString());
                } catch (IOException e) {
                    // closed while listed
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        targets.removeIf(t -> t.endsWith(".jar"));
        java.util.Collections.sort(targets);
        return targets;
    }

    /** The mounts the daemon records as live (one file each in its run directory). */
    public int recordedMounts() {
        try (var s = Files.list(runDir.resolve("mounts"))) {
            return (int) s.count();
        } catch (IOException e) {
            return 0;
        }
    }

    /** SIGTERM; the exit status (fails the test if the daemon does not exit within the limit). */
    public int stop(Duration limit) {
        process.destroy();
        try {
            if (!process.waitFor(limit.toMillis(), TimeUnit.MILLISECONDS)) {
                process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
                throw new AssertionError("layerfs serve did not exit within " + limit + " of SIGTERM:\n" + log());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return process.exitValue();
    }

    /** SIGKILL, as a crash: its mounts are left dead. */
    public void kill() {
        process.destroyForcibly();
        try {
            process.waitFor(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    public boolean isAlive() {
        return process.isAlive();
    }

    @Override
    public void close() {
        if (process != null && process.isAlive()) {
            process.destroy();
            try {
                if (!process.waitFor(15, TimeUnit.SECONDS)) {
                    process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        for (MountInfo.Entry m : MountInfo.under(cleanupRoot)) {
            if (m.fsType().equals("fuse.layerfs")) {
                Sh.run("umount", "-l", m.mountPoint().toString());
            }
        }
        Sh.run("rm", "-rf", "--one-file-system", "--", runDir.toString());
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
