package dev.layerfs.daemon;

import dev.layerfs.core.error.FsException;
import dev.layerfs.fuse.IdleHeapTrim;
import dev.layerfs.snapshotter.SnapshotterCommand;
import dev.layerfs.snapshotter.SnapshotterServer;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.slf4j.Logger;
import sun.misc.Signal;

/**
 * {@code layerfs serve}: one resident daemon serving every mount the mount client hands over to it, each with
 * its own engine and FUSE session, in the foreground for a service manager. Start: take the run directory,
 * clear the mounts a dead predecessor left, listen on the control socket (0600; {@link HandOver} also checks the
 * peer's uid), start the extra services. SIGTERM, SIGINT or SIGHUP: stop taking mounts, stop the services,
 * unmount every mount lazily, wait for their sessions to end, exit 0.
 */
public final class ServeCommand {
    static final String USAGE = """
            usage: layerfs serve [--run-dir DIR] [--snapshotter] [--snapshotter-root DIR]
                                 [--snapshotter-address SOCKET] [-d]
                   layerfs serve --help

            Runs one resident daemon, in the foreground, that serves every layerfs mount made while it runs:
            `layerfs -o ... MOUNTPOINT` (the same command line as without a daemon) hands the mount over to it
            and returns once it is live, with no JVM of its own; umount or fusermount3 -u ends that mount.
            SIGTERM (or SIGINT, SIGHUP) unmounts every mount and exits 0. A daemon started after one that died
            unmounts the dead mounts it left (they fail with ENOTCONN until then).

              --run-dir DIR   where the control socket (control.sock), pid file (layerfs.pid) and the records
                              of live mounts are kept; default $LAYERFS_RUN_DIR, else /run/layerfs as root
                              and $XDG_RUNTIME_DIR/layerfs otherwise. The mount command finds the daemon by
                              the same rule (LAYERFS_RUN_DIR); LAYERFS_DAEMON=off makes it ignore the daemon,
                              and LAYERFS_AUTOSTART=1 makes it start one (detached, in its own namespaces, its
                              log in DIR/serve.log) where none runs.
              --snapshotter   also serve containerd's snapshots API (proxy_plugins) from this daemon; its
                              active snapshots are fuse3.layerfs mounts, which mount.fuse3 hands over to
                              this same daemon (README, "containerd")
              --snapshotter-root DIR
                              where the snapshots and their metadata live (default
                              %s); implies --snapshotter
              --snapshotter-address SOCKET
                              the snapshotter's unix socket (default DIR/snapshotter.sock in the run
                              directory); implies --snapshotter
              -d, --debug     log every mount's FUSE requests and the daemon's own steps
              -h, --help      this text
            """.formatted(SnapshotterCommand.DEFAULT_ROOT);

    /** How long SIGTERM waits for the unmounted mounts' sessions to end before the daemon exits anyway. */
    private static final long STOP_SECONDS = 10;

    private ServeCommand() {}

    public static void main(String[] args) {
        System.setOut(new PrintStream(new FileOutputStream(FileDescriptor.out), true, StandardCharsets.UTF_8));
        System.setErr(new PrintStream(new FileOutputStream(FileDescriptor.err), true, StandardCharsets.UTF_8));
        System.exit(run(args));
    }

    static int run(String[] args) {
        Optional<String> runDir = Optional.empty();
        SnapshotterChoice snapshotter = SnapshotterChoice.OFF;
        boolean debug = false;
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            String name = a.contains("=") ? a.substring(0, a.indexOf('=')) : a;
            boolean takesValue = name.equals("--run-dir") || name.equals("--snapshotter-root")
                    || name.equals("--snapshotter-address");
            String value = null;
            if (takesValue) {
                value = a.contains("=") ? a.substring(a.indexOf('=') + 1) : i + 1 < args.length ? args[++i] : "";
                if (value.isEmpty()) {
                    System.err.println("layerfs serve: " + name + " needs a "
                            + (name.endsWith("address") ? "socket path" : "directory") + " (see layerfs serve --help)");
                    return 2;
                }
            }
            if (a.equals("-h") || a.equals("--help")) {
                System.out.print(USAGE);
                return 0;
            } else if (a.equals("-d") || a.equals("--debug")) {
                debug = true;
            } else if (name.equals("--run-dir")) {
                runDir = Optional.of(value);
            } else if (a.equals("--snapshotter")) {
                snapshotter = snapshotter.on();
            } else if (name.equals("--snapshotter-root")) {
                snapshotter = snapshotter.withRoot(Path.of(value).toAbsolutePath().normalize());
            } else if (name.equals("--snapshotter-address")) {
                snapshotter = snapshotter.withAddress(Path.of(value).toAbsolutePath().normalize());
            } else {
                System.err.println("layerfs serve: unknown argument " + a + " (see layerfs serve --help)");
                return 2;
            }
        }
        configureLogging(debug);
        try {
            return serve(runDir, snapshotter);
        } catch (ServeException e) {
            System.err.println("layerfs serve: " + e.getMessage());
            return 1;
        }
    }

    /**
     * Whether the daemon also serves containerd's snapshots API, and where: the socket defaults to the run
     * directory's {@code snapshotter.sock} (so {@code /run/layerfs/snapshotter.sock} as root, the standalone
     * {@code layerfs snapshotter}'s default).
     */
    record SnapshotterChoice(boolean enabled, Path root, Optional<Path> address) {
        static final SnapshotterChoice OFF =
                new SnapshotterChoice(false, Path.of(SnapshotterCommand.DEFAULT_ROOT), Optional.empty());

        SnapshotterChoice on() {
            return new SnapshotterChoice(true, root, address);
        }

        SnapshotterChoice withRoot(Path dir) {
            return new SnapshotterChoice(true, dir, address);
        }

        SnapshotterChoice withAddress(Path socket) {
            return new SnapshotterChoice(true, root, Optional.of(socket));
        }

        Path socketIn(RunDir runDir) {
            return address.orElse(runDir.dir.resolve("snapshotter.sock"));
        }
    }

    private static int serve(Optional<String> runDirOption, SnapshotterChoice snapshotter) throws ServeException {
        Logger log = org.slf4j.LoggerFactory.getLogger(ServeCommand.class);
        ControlCalls calls = ControlCalls.get();
        RunDir runDir = RunDir.choose(runDirOption, System::getenv, HostRoot.is(calls.geteuid()));
        runDir.claim(ProcessHandle.current().pid());
        int cleared = StaleMounts.clear(runDir.mounts());
        if (cleared > 0) {
            log.info("cleared {} dead mounts left by a previous daemon", cleared);
        }
        IdleHeapTrim.start();
        MountRegistry registry = new MountRegistry(runDir.mounts());
        HandOver handOver = new HandOver(registry);
        CountDownLatch stop = new CountDownLatch(1);
        for (String sig : List.of("TERM", "INT", "HUP")) {
            Signal.handle(new Signal(sig), s -> {
                log.info("SIG{}: unmounting everything and stopping", sig);
                stop.countDown();
            });
        }
        ExecutorService clients = Executors.newCachedThreadPool(r -> {
            Thread t = new Thread(r, "client");
            t.setDaemon(true);
            return t;
        });
        // Before the control socket listens: a mount command meanwhile finds no daemon and mounts by itself,
        // rather than waiting for one that is busy compiling.
        WarmUp.run(runDir, handOver, registry, clients, stop);
        ControlSocket control;
        try {
            control = ControlSocket.open(runDir.socket(), handOver, clients, stop::countDown, false);
        } catch (IOException e) {
            clients.shutdownNow();
            runDir.release();
            throw new ServeException("cannot listen on " + runDir.socket() + ": " + e.getMessage());
        }
        // Extra services start here, once mounts can be handed over: the containerd snapshotter's active
        // snapshots are fuse3.layerfs mounts, which come back to this daemon through mount.fuse3.
        Services services = new Services();
        if (snapshotter.enabled()) {
            Path socket = snapshotter.socketIn(runDir);
            try {
                services.start("the containerd snapshotter (" + snapshotter.root() + ") on " + socket,
                        () -> SnapshotterServer.start(socket, snapshotter.root()));
            } catch (ServeException e) {
                control.close();
                clients.shutdownNow();
                runDir.release();
                throw e;
            }
        }
        log.info("serving mounts; control socket {}", runDir.socket());
        try {
            stop.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        control.close();
        services.close();
        int left = registry.close(STOP_SECONDS);
        if (left > 0) {
            log.warn("{} mounts still busy after {} s; their connections end with this process", left, STOP_SECONDS);
        }
        clients.shutdownNow();
        runDir.release();
        log.info("stopped");
        return 0;
    }

    private static void configureLogging(boolean debug) {
        System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", debug ? "debug" : "info");
        System.setProperty("org.slf4j.simpleLogger.showThreadName", "false");
        System.setProperty("org.slf4j.simpleLogger.logFile", "System.err");
        System.setProperty("org.slf4j.simpleLogger.showDateTime", "true");
        // grpc sets SO_KEEPALIVE on every connection, which a unix socket has not: netty's warning says nothing.
        System.setProperty("org.slf4j.simpleLogger.log.io.grpc.netty.shaded.io.netty.bootstrap.ServerBootstrap",
                "error");
    }
}
