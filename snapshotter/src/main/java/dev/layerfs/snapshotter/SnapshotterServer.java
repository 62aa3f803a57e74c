package dev.layerfs.snapshotter;

import dev.layerfs.snapshotter.store.DirectoryTrees;
import dev.layerfs.snapshotter.store.SnapshotStore;
import io.grpc.Server;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.netty.shaded.io.netty.channel.EventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.epoll.Epoll;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollEventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollServerDomainSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.unix.DomainSocketAddress;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * The snapshotter as a service: containerd's snapshots gRPC API on a unix socket, over a {@link SnapshotStore}
 * under a root directory. {@link #start} returns once the socket accepts calls; {@link #close} stops serving
 * (calls in progress get a few seconds) and removes the socket. The resident daemon embeds it through these two
 * calls; {@code layerfs snapshotter} ({@link SnapshotterCommand}) runs it on its own.
 */
public final class SnapshotterServer implements AutoCloseable {
    /** sun_path holds 108 bytes, the terminating NUL included. */
    private static final int MAX_SOCKET_PATH = 107;

    private final Server server;
    private final EventLoopGroup boss;
    private final EventLoopGroup workers;
    private final Path socket;

    private SnapshotterServer(Server server, EventLoopGroup boss, EventLoopGroup workers, Path socket) {
        this.server = server;
        this.boss = boss;
        this.workers = workers;
        this.socket = socket;
    }

    /**
     * Serves the snapshots under {@code root} (created if missing) on {@code socket}. A socket file that nothing
     * listens on any more (a killed snapshotter's) is replaced; one that answers is refused, as is a path that is
     * not a socket.
     */
    public static SnapshotterServer start(Path socket, Path root) throws IOException {
        if (!Epoll.isAvailable()) {
            throw new IOException("netty's epoll transport cannot load here (" + Epoll.unavailabilityCause()
                    + "): it is what serves a unix socket");
        }
        claimSocket(socket);
        if (Files.exists(root) && !Files.isDirectory(root)) {
            throw new IOException("root " + root + " exists and is not a directory");
        }
        // What a failed start created is removed again: the first missing ancestor of each directory it needs.
        List<Path> created = new ArrayList<>();
        EventLoopGroup boss = null;
        EventLoopGroup workers = null;
        try {
            Path socketDir = socket.toAbsolutePath().getParent();
            firstMissing(socketDir).ifPresent(created::add);
            try {
                Files.createDirectories(socketDir);
            } catch (IOException e) {
                throw new IOException("cannot create " + socketDir + " for the socket: " + reason(e), e);
            }
            firstMissing(root.toAbsolutePath()).ifPresent(created::add);
            SnapshotStore store = SnapshotStore.open(root);
            boss = new EpollEventLoopGroup(1);
            workers = new EpollEventLoopGroup(2);
            Server server;
            try {
                server = NettyServerBuilder.forAddress(new DomainSocketAddress(socket.toString()))
                        .channelType(EpollServerDomainSocketChannel.class)
                        .bossEventLoopGroup(boss)
                        .workerEventLoopGroup(workers)
                        .addService(new SnapshotsService(store))
                        .build()
                        .start();
            } catch (IOException | RuntimeException e) {
                throw new IOException("cannot listen on " + socket + ": " + reason(e), e);
            }
            Files.setPosixFilePermissions(socket, PosixFilePermissions.fromString("rw-rw----"));
            return new SnapshotterServer(server, boss, workers, socket);
        } catch (IOException | RuntimeException e) {
            if (boss != null) {
                boss.shutdownGracefully(0, 0, TimeUnit.SECONDS);
                workers.shutdownGracefully(0, 0, TimeUnit.SECONDS);
            }
            for (Path dir : created) {
                DirectoryTrees.deleteQuietly(dir);
            }
            throw e;
        }
    }

    /** The topmost directory on the way to {@code dir} that does not exist yet (dir itself, or an ancestor). */
    private static Optional<Path> firstMissing(Path dir) {
        Path missing = null;
        for (Path p = dir; p != null && !Files.exists(p, LinkOption.NOFOLLOW_LINKS); p = p.getParent()) {
            missing = p;
        }
        return Optional.ofNullable(missing);
    }

    private static String reason(Exception e) {
        if (e instanceof java.nio.file.FileSystemException fse && fse.getReason() != null) {
            return fse.getReason();
        }
        return e.getClass().getSimpleName() + (e.getMessage() == null ? "" : ": " + e.getMessage());
    }

    /** Makes sure {@code socket} can be bound: absent, or a socket nobody listens on (then removed). */
    private static void claimSocket(Path socket) throws IOException {
        int length = socket.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8).length;
        if (length > MAX_SOCKET_PATH) {
            throw new IOException("socket path " + socket + " is " + length + " bytes long; a unix socket address"
                    + " holds at most " + MAX_SOCKET_PATH);
        }
        if (!Files.exists(socket, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        if (!"socket".equals(fileType(socket))) {
            throw new IOException(socket + " exists and is not a socket");
        }
        try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            ch.connect(UnixDomainSocketAddress.of(socket));
            throw new IOException("another process already listens on " + socket);
        } catch (java.net.ConnectException e) {
            Files.delete(socket);
        }
    }

    private static String fileType(Path p) throws IOException {
        int mode = (Integer) Files.getAttribute(p, "unix:mode", LinkOption.NOFOLLOW_LINKS);
        return (mode & 0170000) == 0140000 ? "socket" : "other";
    }

    public Path socket() {
        return socket;
    }

    /** Blocks until the server has stopped (after {@link #close}, from another thread). */
    public void awaitTermination() throws InterruptedException {
        server.awaitTermination();
    }

    @Override
    public void close() {
        server.shutdown();
        try {
            if (!server.awaitTermination(5, TimeUnit.SECONDS)) {
                server.shutdownNow();
                server.awaitTermination(2, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            server.shutdownNow();
            Thread.currentThread().interrupt();
        }
        boss.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        workers.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        try {
            Files.deleteIfExists(socket);
        } catch (IOException e) {
            // the socket stays; the next start finds nobody listening on it and replaces it
        }
    }
}
