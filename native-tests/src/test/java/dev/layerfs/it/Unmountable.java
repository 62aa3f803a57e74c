package dev.layerfs.it;

/** Something a test mounted, which the {@link MountExtension} must take down again. */
public interface Unmountable {
    /** Unmounts (idempotent); throws AssertionError if the teardown did not go cleanly. */
    void unmount();

    java.nio.file.Path mountPoint();
}
