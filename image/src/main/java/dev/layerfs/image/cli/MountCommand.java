package dev.layerfs.image.cli;

import dev.layerfs.image.store.ImageStoreException;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code image mount}. bin/layerfs does not run it here: it hands the command line to the process that makes the
 * mount ({@link ImageMount}), so that the mount costs one JVM start (none with {@code layerfs serve} running). Run
 * in this JVM (a direct {@code java -jar}), it prepares the mount the same way and runs the {@code layerfs}
 * command line the launcher in LAYERFS_LAUNCHER would, which returns once the mount is live. Read-only unless
 * OPTIONS give a writable layer.
 */
final class MountCommand implements Subcommand {
    static final Usage USAGE = new Usage("mount", "Mount an image, or the image as it was after layer N or DIGEST.")
            .option(List.of("-o"), "OPTIONS", "ephemeral, or upperdir=DIR,workdir=DIR, and any other layerfs"
                    + " mount option", false)
            .positional("IMAGE[@N|@DIGEST]", "the image, or its first N layers, or up to a layer")
            .positional("MOUNTPOINT", "an existing directory");

    @Override
    public Usage usage() {
        return USAGE;
    }

    @Override
    public int run(Args a) throws ImageStoreException, IOException, InterruptedException {
        String launcher = Launcher.path();
        ImageMount m = ImageMount.prepare(a, ImageMount.Caller.self());
        List<String> cmd = new ArrayList<>(List.of(launcher));
        cmd.addAll(m.layerfsArgs());
        ProcessBuilder pb = new ProcessBuilder(cmd).inheritIO();
        pb.environment().put("TMPDIR", m.tmpDir().toString());
        int rc = pb.start().waitFor();
        if (rc != 0) {
            m.abandon();
        }
        return rc;
    }
}
