package dev.layerfs.snapshotter;

import java.io.IOException;
import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;

/**
 * {@code layerfs snapshotter [--root DIR] [--address SOCKET]}: serves containerd's snapshots API in the foreground
 * until SIGTERM or SIGINT, for containerd's {@code proxy_plugins}. Prints one line once the socket accepts calls.
 */
public final class SnapshotterCommand {
    public static final String DEFAULT_ROOT = "/var/lib/layerfs/snapshotter";
    static final String DEFAULT_ADDRESS = "/run/layerfs/snapshotter.sock";
    private static final String USAGE = "usage: layerfs snapshotter [--root DIR] [--address SOCKET]\n"
            + "  --root DIR         where snapshots and their metadata live (default " + DEFAULT_ROOT + ")\n"
            + "  --address SOCKET   the unix socket containerd's proxy_plugins names (default " + DEFAULT_ADDRESS
            + ")\n";

    private SnapshotterCommand() {}

    public static void main(String[] args) {
        configureLogging();
        Path root = Path.of(DEFAULT_ROOT);
        Path address = Path.of(DEFAULT_ADDRESS);
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            switch (a) {
                case "-h", "--help" -> {
                    System.out.print(USAGE);
                    return;
                }
                case "--train-startup" -> {
                    try {
                        StartupTraining.run();
                    } catch (IOException | RuntimeException e) {
                        fail("start-up training: " + e);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                    return;
                }
                case "--root", "--address" -> {
                    if (i + 1 >= args.length || args[i + 1].isEmpty()) {
                        fail(a + " needs a value");
                    }
                    Path value = Path.of(args[++i]).toAbsolutePath().normalize();
                    if (a.equals("--root")) {
                        root = value;
                    } else {
                        address = value;
                    }
                }
                default -> fail("unknown argument " + a + " (see --help)");
            }
        }
        SnapshotterServer server;
        try {
            server = SnapshotterServer.start(address, root);
        } catch (IOException e) {
            fail(e.getMessage());
            return;
        }
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            server.close();
            stopped.countDown();
        }, "layerfs-snapshotter-stop"));
        System.err.println("layerfs snapshotter: serving " + root + " on " + address);
        try {
            server.awaitTermination();
            stopped.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * Warnings and errors on stderr, with times. Netty's complaint that a unix socket has no SO_KEEPALIVE (an option
     * grpc sets on every connection, accepted or made) is left out: it says nothing about this server.
     */
    private static void configureLogging() {
        System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", "info");
        System.setProperty("org.slf4j.simpleLogger.showThreadName", "false");
        System.setProperty("org.slf4j.simpleLogger.logFile", "System.err");
        System.setProperty("org.slf4j.simpleLogger.showDateTime", "true");
        System.setProperty("org.slf4j.simpleLogger.log.io.grpc.netty.shaded.io.netty.bootstrap.ServerBootstrap",
                "error");
        System.setProperty("org.slf4j.simpleLogger.log.io.grpc.netty.shaded.io.netty.bootstrap.Bootstrap", "error");
    }

    private static void fail(String message) {
        System.err.println("layerfs snapshotter: " + message);
        System.exit(1);
    }
}
