package dev.layerfs.image.cli;

import dev.layerfs.image.store.ImageStoreException;
import java.nio.file.Files;
import java.nio.file.Path;

/** The {@code layerfs} launcher (bin/layerfs) that started this command, the one way this module mounts. */
final class Launcher {
    private Launcher() {}

    static String path() throws ImageStoreException {
        String p = System.getenv("LAYERFS_LAUNCHER");
        if (p == null || !Files.isExecutable(Path.of(p))) {
            throw new ImageStoreException("LAYERFS_LAUNCHER is not set to the layerfs launcher: run this through"
                    + " bin/layerfs image ...");
        }
        return p;
    }
}
