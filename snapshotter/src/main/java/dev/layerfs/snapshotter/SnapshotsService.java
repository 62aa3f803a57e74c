package dev.layerfs.snapshotter;

import com.google.protobuf.Empty;
import dev.layerfs.snapshotter.api.CleanupRequest;
import dev.layerfs.snapshotter.api.CommitSnapshotRequest;
import dev.layerfs.snapshotter.api.Info;
import dev.layerfs.snapshotter.api.ListSnapshotsRequest;
import dev.layerfs.snapshotter.api.ListSnapshotsResponse;
import dev.layerfs.snapshotter.api.MountsRequest;
import dev.layerfs.snapshotter.api.MountsResponse;
import dev.layerfs.snapshotter.api.PrepareSnapshotRequest;
import dev.layerfs.snapshotter.api.PrepareSnapshotResponse;
import dev.layerfs.snapshotter.api.RemoveSnapshotRequest;
import dev.layerfs.snapshotter.api.SnapshotsGrpc;
import dev.layerfs.snapshotter.api.StatSnapshotRequest;
import dev.layerfs.snapshotter.api.StatSnapshotResponse;
import dev.layerfs.snapshotter.api.UpdateSnapshotRequest;
import dev.layerfs.snapshotter.api.UpdateSnapshotResponse;
import dev.layerfs.snapshotter.api.UsageRequest;
import dev.layerfs.snapshotter.api.UsageResponse;
import dev.layerfs.snapshotter.api.ViewSnapshotRequest;
import dev.layerfs.snapshotter.api.ViewSnapshotResponse;
import dev.layerfs.snapshotter.store.DiskUsage;
import dev.layerfs.snapshotter.store.SnapshotError;
import dev.layerfs.snapshotter.store.SnapshotStore;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * containerd's snapshots service ({@code containerd.services.snapshots.v1.Snapshots}) over a {@link SnapshotStore}:
 * each call decodes its request, calls the store, and answers; a refusal becomes the gRPC status containerd maps
 * back to the same error ({@code errdefs.FromGRPC}), anything unexpected {@code INTERNAL} with its message. The
 * {@code snapshotter} field of the requests (the name containerd knows this plugin by) is not needed.
 */
final class SnapshotsService extends SnapshotsGrpc.SnapshotsImplBase {
    private static final Logger LOG = LoggerFactory.getLogger(SnapshotsService.class);
    /** List answers in pages of this many snapshots, as containerd's own service does. */
    private static final int PAGE = 100;

    private final SnapshotStore store;

    SnapshotsService(SnapshotStore store) {
        this.store = store;
    }

    /** One call's work, which may be refused. */
    private interface Call<T> {
        T run() throws Exception;
    }

    private static <T> void answer(String what, StreamObserver<T> out, Call<T> call) {
        T reply;
        try {
            reply = call.run();
        } catch (SnapshotError e) {
            LOG.debug("{}: {}", what, e.getMessage());
            out.onError(status(e).withDescription(e.getMessage()).asRuntimeException());
            return;
        } catch (Exception | Error e) {
            LOG.warn("{} failed", what, e);
            out.onError(Status.INTERNAL.withDescription(what + ": " + e).asRuntimeException());
            return;
        }
        out.onNext(reply);
        out.onCompleted();
    }

    private static Status status(SnapshotError e) {
        return switch (e.reason()) {
            case NOT_FOUND -> Status.NOT_FOUND;
            case ALREADY_EXISTS -> Status.ALREADY_EXISTS;
            case FAILED_PRECONDITION -> Status.FAILED_PRECONDITION;
            case INVALID_ARGUMENT -> Status.INVALID_ARGUMENT;
        };
    }

    @Override
    public void prepare(PrepareSnapshotRequest r, StreamObserver<PrepareSnapshotResponse> out) {
        answer("prepare " + r.getKey(), out, () -> PrepareSnapshotResponse.newBuilder()
                .addAllMounts(store.prepare(r.getKey(), r.getParent(), r.getLabelsMap())).build());
    }

    @Override
    public void view(ViewSnapshotRequest r, StreamObserver<ViewSnapshotResponse> out) {
        answer("view " + r.getKey(), out, () -> ViewSnapshotResponse.newBuilder()
                .addAllMounts(store.view(r.getKey(), r.getParent(), r.getLabelsMap())).build());
    }

    @Override
    public void mounts(MountsRequest r, StreamObserver<MountsResponse> out) {
        answer("mounts " + r.getKey(), out, () -> MountsResponse.newBuilder()
                .addAllMounts(store.mounts(r.getKey())).build());
    }

    @Override
    public void commit(CommitSnapshotRequest r, StreamObserver<Empty> out) {
        answer("commit " + r.getKey(), out, () -> {
            store.commit(r.getName(), r.getKey(), r.getLabelsMap());
            return Empty.getDefaultInstance();
        });
    }

    @Override
    public void remove(RemoveSnapshotRequest r, StreamObserver<Empty> out) {
        answer("remove " + r.getKey(), out, () -> {
            store.remove(r.getKey());
            return Empty.getDefaultInstance();
        });
    }

    @Override
    public void stat(StatSnapshotRequest r, StreamObserver<StatSnapshotResponse> out) {
        answer("stat " + r.getKey(), out, () -> StatSnapshotResponse.newBuilder()
                .setInfo(store.stat(r.getKey())).build());
    }

    @Override
    public void update(UpdateSnapshotRequest r, StreamObserver<UpdateSnapshotResponse> out) {
        answer("update " + r.getInfo().getName(), out, () -> UpdateSnapshotResponse.newBuilder()
                .setInfo(store.update(r.getInfo(), r.getUpdateMask().getPathsList())).build());
    }

    @Override
    public void usage(UsageRequest r, StreamObserver<UsageResponse> out) {
        answer("usage " + r.getKey(), out, () -> {
            DiskUsage u = store.usage(r.getKey());
            return UsageResponse.newBuilder().setSize(u.size()).setInodes(u.inodes()).build();
        });
    }

    @Override
    public void cleanup(CleanupRequest r, StreamObserver<Empty> out) {
        answer("cleanup", out, () -> {
            store.cleanup().forEach(p -> LOG.info("cleanup removed {}", p));
            return Empty.getDefaultInstance();
        });
    }

    @Override
    public void list(ListSnapshotsRequest r, StreamObserver<ListSnapshotsResponse> out) {
        List<Info> all;
        try {
            all = store.list(r.getFiltersList());
        } catch (SnapshotError e) {
            out.onError(status(e).withDescription(e.getMessage()).asRuntimeException());
            return;
        } catch (RuntimeException e) {
            LOG.warn("list failed", e);
            out.onError(Status.INTERNAL.withDescription("list: " + e).asRuntimeException());
            return;
        }
        for (int i = 0; i < all.size(); i += PAGE) {
            out.onNext(ListSnapshotsResponse.newBuilder()
                    .addAllInfo(all.subList(i, Math.min(all.size(), i + PAGE))).build());
        }
        out.onCompleted();
    }
}
