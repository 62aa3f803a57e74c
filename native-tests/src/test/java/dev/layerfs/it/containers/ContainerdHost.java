package dev.layerfs.it.containers;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.layerfs.it.MountExtension;
import dev.layerfs.it.MountInfo;
import dev.layerfs.it.Sh;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * A containerd of the test's own, with root, state, sockets and configuration under one directory, and the layerfs
 * snapshotter ({@code layerfs snapshotter}) that its configuration names as the proxy plugin {@code layerfs}.
 * containerd finds {@code layerfs} (which {@code mount.fuse3} runs for a {@code fuse3.layerfs} mount) through a
 * {@code bin/} directory first on its PATH, holding a link to the launcher under test.
 *
 * <p>{@link #close()} stops containerd, the shims it started and the snapshotter, each by its pid and only those
 * (a shim is known by the containerd address on its command line), then unmounts whatever is left below the
 * directory. Nothing outside the directory is touched.
 */
final class ContainerdHost implements AutoCloseable {
    static final String SNAPSHOTTER = "layerfs";
    private static final Duration TIMEOUT = Duration.ofMinutes(2);

    private final Path dir;
    private final Path address;
    private final Path snapshotterSocket;
    private final Map<String, String> env;
    /**
     * Where the snapshotter runs inside a {@code layerfs serve} of this host's own, the daemon's run directory:
     * containerd (and the shims it starts, which mount the active snapshots through mount.fuse3) find that daemon
     * through it, so the mounts are handed over to it too.
     */
    private final Optional<Path> serveRunDir;
    private Process snapshotter;
    private Process containerd;
    private final Thread onExit = new Thread(this::stopAll, "layerfs-it-containerd-cleanup");

    private ContainerdHost(Path dir, boolean served) {
        this.dir = dir;
        this.address = dir.resolve("containerd.sock");
        this.snapshotterSocket = dir.resolve("snapshotter.sock");
        this.serveRunDir = served ? Optional.of(dir.resolve("run")) : Optional.empty();
        this.env = served
                ? Map.of("PATH", dir.resolve("bin") + ":" + System.getenv("PATH"), "LAYERFS_RUN_DIR",
                        serveRunDir.get().toString(), "LAYERFS_DAEMON", "on")
                : Map.of("PATH", dir.resolve("bin") + ":" + System.getenv("PATH"));
        Runtime.getRuntime().addShutdownHook(onExit);
    }

    /** Skips (JUnit assumption) where containerd, ctr, runc or mount.fuse3 are missing: make test installs them. */
    static void assumeTools() {
        for (String tool : List.of("containerd", "ctr", "runc", "mount.fuse3")) {
            assumeTrue(Sh.run("sh", "-c", "PATH=$PATH:/usr/sbin:/sbin command -v " + tool).exitCode() == 0,
                    tool + " is not installed (make test installs it: scripts/install-deps.sh containers)");
        }
    }

    /** Starts the snapshotter, then containerd, under {@code dir} (which must exist and be empty of these). */
    static ContainerdHost start(Path dir) {
        return start(dir, false);
    }

    /**
     * As {@link #start(Path)}, with the snapshotter served by a {@code layerfs serve --snapshotter} of this host's
     * own (its log: {@code snapshotter.log}), which also serves the mounts of the active snapshots.
     */
    static ContainerdHost startServed(Path dir) {
        return start(dir, true);
    }

    private static ContainerdHost start(Path dir, boolean served) {
        assumeTools();
        ContainerdHost host = new ContainerdHost(dir, served);
        try {
            host.configure();
            host.startSnapshotter();
            host.containerd = host.launch(List.of("containerd", "--config", dir.resolve("config.toml").toString()),
                    "containerd.log");
            host.awaitSocket(host.address, host.containerd, "containerd.log");
            ContainerHost.ok(host.ctr("version"));
        } catch (IOException e) {
            host.closeAfter(e);
            throw new UncheckedIOException(e);
        } catch (RuntimeException | Error e) {
            host.closeAfter(e);
            throw e;
        }
        return host;
    }

    /**
     * Closes each of {@code hosts} (null ones skipped), all of them even when one fails; the first failure is
     * thrown with the later ones suppressed in it.
     */
    static void closeAll(AutoCloseable... hosts) {
        Throwable failure = null;
        for (AutoCloseable c : hosts) {
            if (c == null) {
                continue;
            }
            try {
                c.close();
            } catch (Throwable t) {
                if (failure == null) {
                    failure = t;
                } else {
                    failure.addSuppressed(t);
                }
            }
        }
        if (failure instanceof Error e) {
            throw e;
        } else if (failure != null) {
            throw new AssertionError(failure);
        }
    }

    /** Takes down what was started when starting failed, keeping the first failure the one reported. */
    private void closeAfter(Throwable failure) {
        try {
            close();
        } catch (Throwable t) {
            failure.addSuppressed(t);
        }
    }

    private void startSnapshotter() throws IOException {
        List<String> command = serveRunDir.isPresent()
                ? List.of(MountExtension.launcher().toString(), "serve", "--run-dir", serveRunDir.get().toString(),
                        "--snapshotter-root", dir.resolve("snapshots").toString(),
                        "--snapshotter-address", snapshotterSocket.toString())
                : List.of(MountExtension.launcher().toString(), "snapshotter",
                        "--root", dir.resolve("snapshots").toString(), "--address", snapshotterSocket.toString());
        snapshotter = launch(command, "snapshotter.log");
        awaitSocket(snapshotterSocket, snapshotter, "snapshotter.log");
        awaitAnswer();
    }

    /**
     * Waits until the snapshotter answers a gRPC call (a Stat of a key that does not exist: NOT_FOUND), so that
     * containerd's first call does not meet a JVM still loading what a call needs (on a busy machine that took
     * longer than containerd waits for a connection's handshake).
     */
    private void awaitAnswer() {
        io.grpc.netty.shaded.io.netty.channel.epoll.EpollEventLoopGroup group =
                new io.grpc.netty.shaded.io.netty.channel.epoll.EpollEventLoopGroup(1);
        io.grpc.ManagedChannel channel = io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder
                .forAddress(new io.grpc.netty.shaded.io.netty.channel.unix.DomainSocketAddress(
                        snapshotterSocket.toString()))
                .channelType(io.grpc.netty.shaded.io.netty.channel.epoll.EpollDomainSocketChannel.class)
                .eventLoopGroup(group).usePlaintext().build();
        try {
            dev.layerfs.snapshotter.api.SnapshotsGrpc.newBlockingStub(channel).withWaitForReady()
                    .withDeadlineAfter(60, TimeUnit.SECONDS)
                    .stat(dev.layerfs.snapshotter.api.StatSnapshotRequest.newBuilder().setKey("probe").build());
            throw new AssertionError("the snapshotter knows a snapshot named probe");
        } catch (io.grpc.StatusRuntimeException e) {
            assertEquals(io.grpc.Status.Code.NOT_FOUND, e.getStatus().getCode(),
                    () -> "the snapshotter's answer to a Stat: " + e + "\n" + read(dir.resolve("snapshotter.log")));
        } finally {
            channel.shutdownNow();
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        }
    }

    /**
     * Kills the snapshotter with SIGKILL (no chance to tidy up: its socket file stays) and starts it again on the
     * same root and socket, then waits until containerd is through to it: containerd's connection to the killed
     * one is broken, and its calls fail with "unavailable" until it has dialled again (after a back-off of up to
     * 3 seconds), as with any proxy plugin.
     */
    void killAndRestartSnapshotter() throws IOException, InterruptedException {
        snapshotter.destroyForcibly();
        assertTrue(snapshotter.waitFor(10, TimeUnit.SECONDS), "the snapshotter dies on SIGKILL");
        assertTrue(Files.exists(snapshotterSocket), "a killed snapshotter leaves its socket file");
        startSnapshotter();
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        Sh.Result r;
        // ls reaches the snapshotter (containerd asks it about each snapshot it knows).
        while ((r = snapshots(SNAPSHOTTER, "ls")).stderr().contains("unavailable") && System.nanoTime() < deadline) {
            Thread.sleep(200);
        }
        ContainerHost.ok(r);
    }

    private void configure() throws IOException {
        Files.createDirectories(dir.resolve("bin"));
        Files.createSymbolicLink(dir.resolve("bin/layerfs"), MountExtension.launcher());
        // Only what a run needs: no CRI, and no snapshotter that probes filesystems this host lacks.
        Files.writeString(dir.resolve("config.toml"), """
                version = 2
                root = "%1$s/root"
                state = "%1$s/state"
                disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.snapshotter.v1.btrfs",
                  "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper",
                  "io.containerd.snapshotter.v1.aufs", "io.containerd.tracing.processor.v1.otlp",
                  "io.containerd.internal.v1.tracing"]
                [grpc]
                  address = "%2$s"
                [ttrpc]
                  address = "%2$s.ttrpc"
                [plugins."io.containerd.internal.v1.opt"]
                  path = "%1$s/opt"
                # Garbage collection only at start and when collect() asks for it (containerd's default also runs
                # it after each deletion and after 100 changes of any kind): a view made by `ctr snapshot view`
                # holds no reference, and a collection between making it and labelling it (view()) takes it away.
                [plugins."io.containerd.gc.v1.scheduler"]
                  mutation_threshold = 0
                  deletion_threshold = 1000000
                [proxy_plugins.%3$s]
                  type = "snapshot"
                  address = "%4$s"
                """.formatted(dir, address, SNAPSHOTTER, snapshotterSocket));
    }

    private Process launch(List<String> command, String log) throws IOException {
        ProcessBuilder pb = new ProcessBuilder(command).directory(dir.toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
                .redirectErrorStream(true)
                .redirectOutput(dir.resolve(log).toFile());
        pb.environment().putAll(env);
        return pb.start();
    }

    /** Waits until {@code socket} accepts a connection (a file left by a killed process does not). */
    private void awaitSocket(Path socket, Process p, String log) {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (!accepts(socket)) {
            if (!p.isAlive() || System.nanoTime() > deadline) {
                throw new AssertionError(socket + " did not appear (" + (p.isAlive() ? "still starting" : "exited "
                        + p.exitValue()) + "); " + log + ":\n" + read(dir.resolve(log)));
            }
            sleep(20);
        }
    }

    private static boolean accepts(Path socket) {
        try (java.nio.channels.SocketChannel ch = java.nio.channels.SocketChannel.open(
                java.net.StandardProtocolFamily.UNIX)) {
            return ch.connect(java.net.UnixDomainSocketAddress.of(socket));
        } catch (IOException e) {
            return false;
        }
    }

    Path dir() {
        return dir;
    }

    /** ctr against this containerd. */
    Sh.Result ctr(String... args) {
        List<String> cmd = new ArrayList<>(List.of("ctr", "--address", address.toString()));
        cmd.addAll(Arrays.asList(args));
        return Sh.run(cmd, env, dir, TIMEOUT);
    }

    /** {@code ctr snapshot --snapshotter NAME ARGS...}. */
    Sh.Result snapshots(String snapshotter, String... args) {
        List<String> cmd = new ArrayList<>(List.of("snapshot", "--snapshotter", snapshotter));
        cmd.addAll(Arrays.asList(args));
        return ctr(cmd.toArray(String[]::new));
    }

    /**
     * {@code ctr snapshot view KEY PARENT}, then labelled as a garbage-collection root (as {@code ctr snapshot
     * prepare} and {@code commit} label theirs), so that a collection cannot remove it while it is in use. The view
     * holds no reference until it is labelled, and a collection containerd schedules after the deletions of earlier
     * tests can take it in between (seen once, on a loaded machine: the label found no snapshot): then it is made
     * again, at most three times.
     */
    void view(String snapshotter, String key, String parent) {
        for (int attempt = 1; ; attempt++) {
            ContainerHost.ok(snapshots(snapshotter, "view", key, parent));
            Sh.Result labelled = snapshots(snapshotter, "label", key, "containerd.io/gc.root=test");
            if (labelled.exitCode() == 0 || attempt == 3 || !labelled.stderr().contains("not found")) {
                ContainerHost.ok(labelled);
                return;
            }
        }
    }

    /**
     * Runs containerd's garbage collection and waits for it: a tag of the image removed with {@code --sync}, which
     * collects before it returns.
     */
    void collect(String image) {
        ContainerHost.ok(ctr("image", "tag", image, "localhost/gc-trigger:latest"));
        ContainerHost.ok(ctr("image", "rm", "--sync", "localhost/gc-trigger:latest"));
    }

    /**
     * Mounts a snapshot at {@code target} as containerd would: {@code ctr snapshot mounts} prints the mount, and
     * it is made the way containerd makes each type (a {@code fuse3.} type through {@code mount.fuse3}, with each
     * option as its own {@code -o}).
     */
    void mount(String snapshotter, String key, Path target) {
        String line = ContainerHost.ok(snapshots(snapshotter, "mounts", target.toString(), key)).strip();
        SnapshotMount m = SnapshotMount.parse(line);
        List<String> cmd = new ArrayList<>();
        if (m.type().startsWith("fuse3.")) {
            cmd.add("mount.fuse3");
            cmd.add(m.source());
            cmd.add(target.toString());
            for (String o : m.options()) {
                cmd.add("-o");
                cmd.add(o);
            }
            cmd.add("-t");
            cmd.add(m.type().substring("fuse3.".length()));
        } else {
            cmd.addAll(List.of("mount", "-t", m.type(), m.source(), target.toString(), "-o",
                    String.join(",", m.options())));
        }
        List<String> withPath = new ArrayList<>(List.of("env", "PATH=" + env.get("PATH") + ":/usr/sbin:/sbin"));
        withPath.addAll(cmd);
        ContainerHost.ok(Sh.run(withPath, Map.of(), dir, TIMEOUT));
    }

    /** The log a process wrote, for failure messages. */
    String log(String name) {
        return read(dir.resolve(name));
    }

    /**
     * Stops containerd, its shims and the snapshotter (by pid), unmounts what is left below the directory, and
     * fails if any of them had to be forced.
     */
    @Override
    public void close() {
        List<String> problems = stopAll();
        try {
            Runtime.getRuntime().removeShutdownHook(onExit);
        } catch (IllegalStateException e) {
            // the JVM is shutting down: the hook runs anyway, and finds nothing left
        }
        if (!problems.isEmpty()) {
            throw new AssertionError(String.join("\n", problems));
        }
    }

    private List<String> stopAll() {
        List<String> problems = new ArrayList<>();
        stop(containerd, "containerd", problems);
        for (ProcessHandle shim : shims()) {
            shim.destroy();
            if (!await(shim, Duration.ofSeconds(5))) {
                shim.destroyForcibly();
                problems.add("a containerd shim (pid " + shim.pid() + ") had to be killed");
            }
        }
        for (MountInfo.Entry m : MountInfo.under(dir)) {
            if (Sh.run("umount", m.mountPoint().toString()).exitCode() != 0) {
                Sh.run("umount", "-l", m.mountPoint().toString());
            }
        }
        stop(snapshotter, "the snapshotter", problems);
        return problems;
    }

    private static void stop(Process p, String what, List<String> problems) {
        if (p == null || !p.isAlive()) {
            return;
        }
        p.destroy();
        try {
            if (!p.waitFor(15, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                p.waitFor(5, TimeUnit.SECONDS);
                problems.add(what + " (pid " + p.pid() + ") did not stop on SIGTERM and was killed");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** The shims of this containerd: processes named containerd-shim* whose command line names its address. */
    private List<ProcessHandle> shims() {
        String a = address.toString();
        return ProcessHandle.allProcesses().filter(h -> {
            Optional<String> cmd = h.info().command();
            Optional<String[]> args = h.info().arguments();
            return cmd.isPresent() && cmd.get().contains("containerd-shim") && args.isPresent()
                    && Arrays.stream(args.get()).anyMatch(x -> x.equals(a) || x.equals("unix://" + a));
        }).toList();
    }

    private static boolean await(ProcessHandle h, Duration d) {
        try {
            h.onExit().get(d.toMillis(), TimeUnit.MILLISECONDS);
            return true;
        } catch (Exception e) {
            return !h.isAlive();
        }
    }

    private static String read(Path p) {
        try {
            return Files.readString(p);
        } catch (IOException e) {
            return "(unreadable: " + e.getMessage() + ")";
        }
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** One line of {@code ctr snapshot mounts}: {@code mount -t TYPE SOURCE TARGET -o OPT,OPT...}. */
    record SnapshotMount(String type, String source, List<String> options) {
        static SnapshotMount parse(String line) {
            String[] w = line.split(" ");
            assertEquals("mount", w[0], line);
            assertEquals("-t", w[1], line);
            List<String> options = w.length > 6 ? List.of(w[6].split(",")) : List.of();
            return new SnapshotMount(w[2], w[3], options);
        }

        /** The value of option {@code NAME=VALUE}. */
        String option(String name) {
            return options.stream().filter(o -> o.startsWith(name + "=")).map(o -> o.substring(name.length() + 1))
                    .findFirst().orElseThrow(() -> new AssertionError("no " + name + " in " + options));
        }
    }
}
