package dev.layerfs.fuse;

import dev.layerfs.image.cli.ImageMount;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;

/**
 * {@code layerfs --image-mount [--ready-file FILE -f] ARGS...}: how bin/layerfs runs {@code layerfs image ARGS} (an
 * image mount) where no {@code layerfs serve} daemon takes it. The image module resolves the image in the store
 * and records the mount ({@link ImageMount}); this process then makes the mount as {@code layerfs -o
 * lowerdir=TOP:...:BASE[,OPTIONS] MOUNTPOINT} would, with its ephemeral layer in the record's directory, and
 * serves it: one JVM start, as for mounting the layer directories by hand. A refusal prints the lines and exit
 * status of {@code layerfs image mount}; a mount that fails deletes its record.
 */
final class ImageMountCommand {
    static final String FLAG = "--image-mount";

    private ImageMountCommand() {}

    static int run(String[] args) {
        List<String> rest = Arrays.asList(args);
        Optional<Path> readyFile = Optional.empty();
        if (rest.size() >= 3 && rest.get(0).equals("--ready-file") && rest.get(2).equals("-f")) {
            readyFile = Optional.of(Path.of(rest.get(1)));
            rest = rest.subList(3, rest.size());
        }
        ImageMount image;
        try {
            image = ImageMount.prepare(rest, ImageMount.Caller.self());
        } catch (ImageMount.Refusal r) {
            for (String line : r.lines()) {
                System.err.println(line);
            }
            if (readyFile.isPresent()) {
                MountDaemon.writeReady(readyFile.get(), "error: " + r.lines().get(0));
            }
            return r.exitCode();
        }
        List<String> mountArgs = new ArrayList<>();
        if (readyFile.isPresent()) {
            mountArgs.addAll(List.of("--ready-file", readyFile.get().toString(), "-f"));
        }
        mountArgs.addAll(image.layerfsArgs());
        int rc = Main.mount(mountArgs.toArray(new String[0]), Optional.of(image.tmpDir()));
        if (rc != 0) {
            image.abandon();
        }
        return rc;
    }
}
