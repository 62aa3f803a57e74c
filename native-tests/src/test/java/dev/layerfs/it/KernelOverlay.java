package dev.layerfs.it;

import java.nio.file.Path;

/** A kernel overlay mount ({@code mount -t overlay}) made by the {@link MountExtension}. */
public final class KernelOverlay implements Unmountable {
    private final Path mountPoint;
    private final Layers layers;
    private boolean unmounted;

    KernelOverlay(Path mountPoint, Layers layers) {
        this.mountPoint = mountPoint;
        this.layers = layers;
    }

    @Override
    public Path mountPoint() {
        return mountPoint;
    }

    public Layers layers() {
        return layers;
    }

    public Path path(String relative) {
        return mountPoint.resolve(relative);
    }

    @Override
    public synchronized void unmount() {
        if (!unmounted) {
            unmounted = true;
            Unmounter.unmount(mountPoint);
        }
    }
}
