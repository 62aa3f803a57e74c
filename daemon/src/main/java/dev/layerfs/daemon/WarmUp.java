package dev.layerfs.daemon;

import dev.layerfs.image.store.LayerStore;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs a mount's code before the first real mount needs it. A JVM interprets a method until it has run some
 * hundreds of times and then spends CPU compiling it; without this, the daemon's first podman runs paid for both
 * on the cores the container's own start needs: its first mount some 400 ms of CPU, every later run of the first
 * 20 or 40 some 25 to 32 ms, a third of it compiling. The mount's own set-up (the command line, the checks, the
 * engine's and the session's start) runs once a mount, and much of it is the JDK's code, which C1 compiles only
 * after some hundreds of calls: so the warm-up is many mounts with little work on each. 60 mounts of one round
 * each cost about 2 s of CPU at start; over the 20 podman runs after it (rootful, this machine, two sets) the
 * daemon's CPU was 180-260 ms against 310-320 ms after 10 mounts of 5 rounds, and the mount command took 66-78 ms
 * in all against 96-107 ms.
 *
 * <p>Before its control socket listens, the daemon listens on a socket of the warm-up's own in the run directory
 * and runs the mount client in its warm-up mode there ({@code layerfs-client --warm-up}, daemon/src/main/c): in a
 * mount namespace of its own, so that nothing of it is seen outside, the client mounts a small stack through this
 * daemon {@link #MOUNTS} times, the way every mount comes, and runs on each mount {@link #ROUNDS} rounds of what a
 * container's start asks of its root (lookups, reads, creates, mkdir, symlinks, chmod and chown with copy-up,
 * xattrs, listings, renames, unlinks). Its mounts are logged at debug only. Where the client is missing, or no
 * mount namespace may be made (an unprivileged daemon outside a user namespace, which hands every mount back to a
 * process of its own anyway), there is no warm-up. A stop signal ends it. The system properties
 * {@code layerfs.warmUp.mounts} and {@code layerfs.warmUp.rounds} change its size (mounts 0: none).
 */
final class WarmUp {
    private static final Logger LOG = LoggerFactory.getLogger(WarmUp.class);

    /** The mount client, as the launcher names it. */
    static final String CLIENT_PROPERTY = "layerfs.mountClient";
    static final int MOUNTS = 60;
    static final int ROUNDS = 1;
    private static final long LIMIT_SECONDS = 20;
    /**
     * How long the sessions of the mounts of a client that exited by itself may take to end (it unmounted what it
     * mounted; each session sees that a moment later) before those still live are unmounted here.
     */
    private static final long FINISHED_GRACE_MILLIS = 5000;

    private WarmUp() {}

    /** Runs the warm-up, its mounts served by {@code handOver} on {@code clients}; never throws. */
    static void run(RunDir runDir, HandOver handOver, MountRegistry registry, ExecutorService clients,
                    CountDownLatch stop) {
        Optional<Path> client = Optional.ofNullable(System.getProperty(CLIENT_PROPERTY)).map(Path::of)
                .filter(Files::isExecutable);
        if (client.isEmpty()) {
            LOG.debug("no warm-up: no mount client ({})", System.getProperty(CLIENT_PROPERTY));
            return;
        }
        int mounts = Integer.getInteger("layerfs.warmUp.mounts", MOUNTS);
        int rounds = Integer.getInteger("layerfs.warmUp.rounds", ROUNDS);
        if (mounts <= 0) {
            return;
        }
        long start = System.nanoTime();
        Path dir = null;
        ControlSocket socket = null;
        boolean finished = false;
        try {
            dir = Files.createTempDirectory("layerfs-warm-up-");
            fill(dir.resolve("lower"));
            socket = ControlSocket.open(runDir.dir.resolve("warm-up.sock"), handOver, clients, () -> {}, true);
            ProcessBuilder pb = new ProcessBuilder(client.get().toString(), "--warm-up", socket.path().toString(),
                    dir.toString(), Integer.toString(mounts), Integer.toString(rounds));
            pb.redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD);
            Process p = pb.start();
            long deadline = start + TimeUnit.SECONDS.toNanos(LIMIT_SECONDS);
            while (!p.waitFor(50, TimeUnit.MILLISECONDS)) {
                if (stop.getCount() == 0 || System.nanoTime() > deadline) {
                    p.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
                    break;
                }
            }
            finished = !p.isAlive() && p.exitValue() != 137;
            if (!finished) {
                LOG.info("warm-up: stopped after {} ms", TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start));
            } else if (p.exitValue() == 3) {
                LOG.debug("no warm-up: no mount namespace may be made here");
            } else if (p.exitValue() == 0) {
                LOG.debug("warm-up: {} mounts of {} rounds in {} ms", mounts, rounds,
                        TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start));
            } else {
                LOG.info("warm-up: the mount client failed (exit status {}) after {} ms", p.exitValue(),
                        TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start));
            }
        } catch (IOException e) {
            LOG.debug("no warm-up: {}", e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            if (socket != null) {
                socket.close();
            }
            // A client killed mid-way leaves its mounts to the daemon (which holds their namespace): ended here,
            // before their layers are deleted.
            int left = registry.endWarmUps(finished ? FINISHED_GRACE_MILLIS : 0, 10);
            if (left > 0) {
                LOG.warn("warm-up: {} of its mounts still busy; {} is left in place", left, dir);
            } else if (dir != null) {
                delete(dir);
            }
        }
    }

    /** The lower layer the client's workload expects: a small root file system. */
    private static void fill(Path lower) throws IOException {
        for (String d : new String[] {"bin", "etc", "usr/lib", "tmp", "run"}) {
            Files.createDirectories(lower.resolve(d));
        }
        byte[] program = new byte[1 << 20];
        for (int i = 0; i < program.length; i++) {
            program[i] = (byte) (i * 31 + (i >> 12));
        }
        Files.write(lower.resolve("bin/prog"), program);
        Files.createSymbolicLink(lower.resolve("bin/sh"), Path.of("prog"));
        for (int i = 0; i < 20; i++) {
            Files.write(lower.resolve("etc/conf" + i), ("setting " + i + "\n").getBytes(StandardCharsets.US_ASCII));
            Files.write(lower.resolve("usr/lib/lib" + i), new byte[4096 * (1 + i % 4)]);
        }
    }

    /** Deletes the warm-up's directory (its mounts ended with the client, or by {@link MountRegistry#endWarmUps}). */
    private static void delete(Path dir) {
        try {
            LayerStore.deleteTree(dir);
        } catch (IOException e) {
            LOG.debug("cannot delete {}: {}", dir, e.getMessage());
        }
    }
}
