package dev.layerfs.core.model;

import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * What to stack: lower layers topmost first, and optionally a writable upper layer with its workdir.
 *
 * @param lowerDirs the read-only layers, topmost first
 * @param upperDir the writable layer, if any (without one the overlay is read-only)
 * @param workDir a scratch directory on the upper's filesystem, required with an upper
 * @param fsync false to skip fsync of upper files ("volatile")
 * @param ids the owners shown and stored ({@code uidmapping}, {@code gidmapping}, {@code squash_*})
 * @param features the kernel overlay's optional features ({@code redirect_dir}, ...)
 */
public record OverlayConfig(List<Path> lowerDirs, Optional<Path> upperDir, Optional<Path> workDir, boolean fsync,
        IdMapping ids, KernelFeatures features) {
    public OverlayConfig {
        lowerDirs = List.copyOf(lowerDirs);
    }

    public OverlayConfig(List<Path> lowerDirs, Optional<Path> upperDir, Optional<Path> workDir, boolean fsync,
            IdMapping ids) {
        this(lowerDirs, upperDir, workDir, fsync, ids, KernelFeatures.DEFAULT);
    }

    public OverlayConfig(List<Path> lowerDirs, Optional<Path> upperDir, Optional<Path> workDir, boolean fsync) {
        this(lowerDirs, upperDir, workDir, fsync, IdMapping.IDENTITY);
    }

    public static OverlayConfig readOnly(List<Path> lowers) {
        return new OverlayConfig(lowers, Optional.empty(), Optional.empty(), true);
    }

    public static OverlayConfig writable(List<Path> lowers, Path upper, Path work) {
        return new OverlayConfig(lowers, Optional.of(upper), Optional.of(work), true);
    }

    public OverlayConfig withFsync(boolean newFsync) {
        return new OverlayConfig(lowerDirs, upperDir, workDir, newFsync, ids, features);
    }

    public OverlayConfig withIds(IdMapping newIds) {
        return new OverlayConfig(lowerDirs, upperDir, workDir, fsync, newIds, features);
    }

    public OverlayConfig withFeatures(KernelFeatures newFeatures) {
        return new OverlayConfig(lowerDirs, upperDir, workDir, fsync, ids, newFeatures);
    }
}
