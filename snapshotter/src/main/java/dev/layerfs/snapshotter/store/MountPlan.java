package dev.layerfs.snapshotter.store;

import dev.layerfs.snapshotter.api.Kind;
import dev.layerfs.snapshotter.api.Mount;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Collectors;

/**
 * The mounts containerd makes for an active snapshot or a view, following its overlayfs snapshotter: a snapshot
 * with no parent is a bind mount of its own layer (read-only for a view), a view of one layer is a read-only bind
 * mount of that layer; everything else is a layerfs mount of type {@code fuse3.layerfs}, which containerd makes
 * by running the FUSE mount helper ({@code mount.fuse3 layerfs TARGET -o ... -t layerfs}, which runs
 * {@code layerfs}): parents as the lower layers, nearest first, and for an active snapshot its own layer as the
 * upper one. A view without an upper layer is read-only, and says so ({@code ro}).
 */
final class MountPlan {
    static final String TYPE = "fuse3.layerfs";
    static final String SOURCE = "layerfs";

    private MountPlan() {}

    static List<Mount> mounts(Kind kind, LayerDirectories.Layer own, List<LayerDirectories.Layer> parents) {
        if (parents.isEmpty()) {
            return List.of(bind(own.fs(), kind == Kind.VIEW ? "ro" : "rw"));
        }
        if (kind == Kind.VIEW && parents.size() == 1) {
            return List.of(bind(parents.get(0).fs(), "ro"));
        }
        String lower = "lowerdir=" + parents.stream().map(l -> l.fs().toString()).collect(Collectors.joining(":"));
        Mount.Builder m = Mount.newBuilder().setType(TYPE).setSource(SOURCE);
        if (kind == Kind.ACTIVE) {
            m.addOptions("workdir=" + own.work()).addOptions("upperdir=" + own.fs());
        } else {
            m.addOptions("ro");
        }
        return List.of(m.addOptions(lower).build());
    }

    private static Mount bind(Path dir, String access) {
        return Mount.newBuilder().setType("bind").setSource(dir.toString())
                .addOptions(access).addOptions("rbind").build();
    }
}
