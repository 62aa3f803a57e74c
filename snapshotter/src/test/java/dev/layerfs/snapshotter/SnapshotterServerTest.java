package dev.layerfs.snapshotter;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.layerfs.snapshotter.api.CommitSnapshotRequest;
import dev.layerfs.snapshotter.api.Info;
import dev.layerfs.snapshotter.api.Kind;
import dev.layerfs.snapshotter.api.ListSnapshotsRequest;
import dev.layerfs.snapshotter.api.ListSnapshotsResponse;
import dev.layerfs.snapshotter.api.PrepareSnapshotRequest;
import dev.layerfs.snapshotter.api.RemoveSnapshotRequest;
import dev.layerfs.snapshotter.api.SnapshotsGrpc;
import dev.layerfs.snapshotter.api.StatSnapshotRequest;
import dev.layerfs.snapshotter.api.UsageRequest;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollDomainSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollEventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.unix.DomainSocketAddress;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The service over a real unix socket, called as containerd calls it (a gRPC client of the same API). */
class SnapshotterServerTest {
    @TempDir
    Path dir;

    private static <T> T withClient(Path socket, java.util.function.Function<SnapshotsGrpc.SnapshotsBlockingStub, T> f)
            throws InterruptedException {
        EpollEventLoopGroup group = new EpollEventLoopGroup(1);
        ManagedChannel channel = NettyChannelBuilder.forAddress(new DomainSocketAddress(socket.toString()))
                .channelType(EpollDomainSocketChannel.class).eventLoopGroup(group).usePlaintext().build();
        try {
            return f.apply(SnapshotsGrpc.newBlockingStub(channel));
        } finally {
            channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        }
    }

    @Test
    void servesTheSnapshotsApi() throws Exception {
        Path socket = dir.resolve("run/snap.sock");
        try (SnapshotterServer server = SnapshotterServer.start(socket, dir.resolve("root"))) {
            withClient(socket, s -> {
                assertEquals("bind", s.prepare(PrepareSnapshotRequest.newBuilder().setKey("a").build())
                        .getMounts(0).getType());
                s.commit(CommitSnapshotRequest.newBuilder().setKey("a").setName("base").putLabels("x", "y").build());
                assertEquals("fuse3.layerfs", s.prepare(PrepareSnapshotRequest.newBuilder().setKey("b")
                        .setParent("base").build()).getMounts(0).getType());
                Info base = s.stat(StatSnapshotRequest.newBuilder().setKey("base").build()).getInfo();
                assertEquals(Kind.COMMITTED, base.getKind());
                assertEquals("y", base.getLabelsOrThrow("x"));
                assertEquals(1, s.usage(UsageRequest.newBuilder().setKey("b").build()).getInodes());
                List<String> names = new ArrayList<>();
                for (Iterator<ListSnapshotsResponse> it = s.list(ListSnapshotsRequest.getDefaultInstance());
                        it.hasNext(); ) {
                    it.next().getInfoList().forEach(i -> names.add(i.getName()));
                }
                assertEquals(List.of("base", "b"), names);
                StatusRuntimeException missing = assertThrows(StatusRuntimeException.class,
                        () -> s.stat(StatSnapshotRequest.newBuilder().setKey("nope").build()));
                assertEquals(Status.Code.NOT_FOUND, missing.getStatus().getCode());
                StatusRuntimeException child = assertThrows(StatusRuntimeException.class,
                        () -> s.remove(RemoveSnapshotRequest.newBuilder().setKey("base").build()));
                assertEquals(Status.Code.FAILED_PRECONDITION, child.getStatus().getCode());
                StatusRuntimeException twice = assertThrows(StatusRuntimeException.class,
                        () -> s.prepare(PrepareSnapshotRequest.newBuilder().setKey("b").build()));
                assertEquals(Status.Code.ALREADY_EXISTS, twice.getStatus().getCode());
                return null;
            });
        }
        assertFalse(Files.exists(socket), "the socket goes with the server");
    }

    @Test
    void aLiveSocketIsRefusedAndAStaleOneReplaced() throws Exception {
        Path socket = dir.resolve("snap.sock");
        try (SnapshotterServer first = SnapshotterServer.start(socket, dir.resolve("root"))) {
            IOException e = assertThrows(IOException.class,
                    () -> SnapshotterServer.start(socket, dir.resolve("root2")));
            assertTrue(e.getMessage().contains("already listens"), e.getMessage());
            assertFalse(Files.exists(dir.resolve("root2")), "nothing created for a refused start");
        }
        // A socket file left by a killed server: nobody answers on it.
        try (var ch = java.nio.channels.ServerSocketChannel.open(java.net.StandardProtocolFamily.UNIX)) {
            ch.bind(java.net.UnixDomainSocketAddress.of(socket));
        }
        assertTrue(Files.exists(socket));
        try (SnapshotterServer again = SnapshotterServer.start(socket, dir.resolve("root"))) {
            Status.Code answer = withClient(socket, s -> assertThrows(StatusRuntimeException.class,
                    () -> s.stat(StatSnapshotRequest.newBuilder().setKey("nope").build())).getStatus().getCode());
            assertEquals(Status.Code.NOT_FOUND, answer, "the new server answers");
        }
    }

    @Test
    void badStartsCreateNothing() throws Exception {
        Path file = Files.writeString(dir.resolve("file"), "x");
        IOException notDir = assertThrows(IOException.class,
                () -> SnapshotterServer.start(dir.resolve("s.sock"), file));
        assertTrue(notDir.getMessage().contains("is not a directory"), notDir.getMessage());
        Path longSocket = dir.resolve("new/" + "a".repeat(120) + ".sock");
        IOException tooLong = assertThrows(IOException.class,
                () -> SnapshotterServer.start(longSocket, dir.resolve("root/deep")));
        assertTrue(tooLong.getMessage().contains("at most 107"), tooLong.getMessage());
        IOException noDir = assertThrows(IOException.class,
                () -> SnapshotterServer.start(file.resolve("s.sock"), dir.resolve("root/deep")));
        assertTrue(noDir.getMessage().contains("for the socket"), noDir.getMessage());
        try (var left = Files.list(dir)) {
            assertEquals(List.of(file), left.toList(), "only what was there before");
        }
    }

    @Test
    void aPathThatIsNotASocketIsRefused() throws Exception {
        Path file = Files.writeString(dir.resolve("file"), "x");
        IOException e = assertThrows(IOException.class, () -> SnapshotterServer.start(file, dir.resolve("root")));
        assertTrue(e.getMessage().contains("not a socket"), e.getMessage());
        assertEquals("x", Files.readString(file));
    }
}
