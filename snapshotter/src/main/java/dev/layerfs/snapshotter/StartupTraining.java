package dev.layerfs.snapshotter;

import dev.layerfs.snapshotter.api.CleanupRequest;
import dev.layerfs.snapshotter.api.CommitSnapshotRequest;
import dev.layerfs.snapshotter.api.ListSnapshotsRequest;
import dev.layerfs.snapshotter.api.MountsRequest;
import dev.layerfs.snapshotter.api.PrepareSnapshotRequest;
import dev.layerfs.snapshotter.api.RemoveSnapshotRequest;
import dev.layerfs.snapshotter.api.SnapshotsGrpc;
import dev.layerfs.snapshotter.api.StatSnapshotRequest;
import dev.layerfs.snapshotter.api.UsageRequest;
import dev.layerfs.snapshotter.api.ViewSnapshotRequest;
import dev.layerfs.snapshotter.store.DirectoryTrees;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollDomainSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollEventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.unix.DomainSocketAddress;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * {@code layerfs snapshotter --train-startup}, which {@code make build} runs with the JVM writing a class-data
 * archive at exit: a server on a temporary socket and root, and a client making each kind of call once, so that
 * the archive holds the classes a start and its first calls load (it halved the CPU time to a listening socket
 * here, 500 to 240 ms). Everything it made is deleted.
 */
final class StartupTraining {
    private StartupTraining() {}

    static void run() throws IOException, InterruptedException {
        Path dir = Files.createTempDirectory("layerfs-snapshotter-training");
        try {
            Path socket = dir.resolve("snapshotter.sock");
            try (SnapshotterServer server = SnapshotterServer.start(socket, dir.resolve("root"))) {
                EpollEventLoopGroup group = new EpollEventLoopGroup(1);
                ManagedChannel channel = NettyChannelBuilder.forAddress(new DomainSocketAddress(socket.toString()))
                        .channelType(EpollDomainSocketChannel.class).eventLoopGroup(group).usePlaintext().build();
                try {
                    calls(SnapshotsGrpc.newBlockingStub(channel));
                } finally {
                    channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
                    group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
                }
            }
        } finally {
            DirectoryTrees.delete(dir);
        }
    }

    private static void calls(SnapshotsGrpc.SnapshotsBlockingStub s) {
        s.prepare(PrepareSnapshotRequest.newBuilder().setKey("a").build());
        s.commit(CommitSnapshotRequest.newBuilder().setKey("a").setName("base").build());
        s.prepare(PrepareSnapshotRequest.newBuilder().setKey("b").setParent("base").putLabels("k", "v").build());
        s.view(ViewSnapshotRequest.newBuilder().setKey("v").setParent("base").build());
        s.mounts(MountsRequest.newBuilder().setKey("b").build());
        s.stat(StatSnapshotRequest.newBuilder().setKey("b").build());
        s.usage(UsageRequest.newBuilder().setKey("b").build());
        s.list(ListSnapshotsRequest.newBuilder().addFilters("kind==active").build()).forEachRemaining(r -> { });
        try {
            s.remove(RemoveSnapshotRequest.newBuilder().setKey("base").build());
        } catch (io.grpc.StatusRuntimeException refused) {
            // has children: the refusal's path is trained too
        }
        for (String key : new String[] {"v", "b", "base"}) {
            s.remove(RemoveSnapshotRequest.newBuilder().setKey(key).build());
        }
        s.cleanup(CleanupRequest.getDefaultInstance());
    }
}
