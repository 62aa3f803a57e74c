package dev.layerfs.image.cli;

import dev.layerfs.image.store.Digest;
import dev.layerfs.image.store.Image;
import dev.layerfs.image.store.ImageIndex;
import dev.layerfs.image.store.ImageStoreException;
import dev.layerfs.image.store.LayerSelection;
import dev.layerfs.image.store.LayerStore;
import dev.layerfs.image.store.MountRecords;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * {@code image mount}: runs exactly {@code layerfs -o lowerdir=TOP:...:BASE[,OPTIONS] MOUNTPOINT} (the launcher
 * in LAYERFS_LAUNCHER), which returns once the mount is live. Read-only unless OPTIONS give a writable layer.
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
        Path mountPoint = Path.of(a.positional(1));
        LayerStore s = StoreOption.from(a).open();
        String[] parts = LayerSelection.split(a.positional(0));
        Image image = new ImageIndex(s).resolve(parts[0]);
        int count = LayerSelection.count(image, parts[1]);
        List<Digest> layers = image.diffIds().subList(0, count);
        if (!Files.isDirectory(mountPoint)) {
            throw new ImageStoreException("mount point " + mountPoint + " is not a directory");
        }
        Path mnt = mountPoint.toRealPath();
        StringBuilder lower = new StringBuilder("lowerdir=");
        for (int i = layers.size() - 1; i >= 0; i--) {
            if (!s.hasLayer(layers.get(i))) {
                throw new ImageStoreException("layer " + layers.get(i).shortHex() + " is missing from the store");
            }
            lower.append(escape(s.layerRoot(layers.get(i)).toString()));
            if (i > 0) {
                lower.append(':');
            }
        }
        List<String> opts = new ArrayList<>();
        boolean ephemeral = false;
        Optional<Path> upper = Optional.empty();
        for (String group : a.values("-o")) {
            for (String o : group.split(",")) {
                if (o.equals("ephemeral")) {
                    ephemeral = true;
                } else if (o.startsWith("upperdir=")) {
                    upper = Optional.of(Path.of(o.substring(9)).toAbsolutePath().normalize());
                    o = "upperdir=" + upper.get();
                } else if (o.startsWith("workdir=")) {
                    o = "workdir=" + Path.of(o.substring(8)).toAbsolutePath().normalize();
                } else if (o.startsWith("lowerdir=")) {
                    throw new ImageStoreException("-o lowerdir= is the image's to set");
                }
                if (!o.isEmpty()) {
                    opts.add(o);
                }
            }
        }
        String optionList = lower + (opts.isEmpty() ? "" : "," + String.join(",", opts));
        MountRecords records = new MountRecords(s);
        if (records.find(mnt).isPresent()) {
            throw new ImageStoreException(mnt + " is already an image mount: unmount it first");
        }
        MountRecords.Record record = records.create(mnt, image, count, upper, ephemeral);
        ProcessBuilder pb = new ProcessBuilder(Launcher.path(), "-o", optionList, mnt.toString()).inheritIO();
        pb.environment().put("TMPDIR", record.tmpDir().toString());
        int rc = pb.start().waitFor();
        if (rc != 0) {
            LayerStore.deleteTree(record.dir());
        }
        return rc;
    }

    /** A path inside a lowerdir list: layerfs reads "\:" as a colon; a comma cannot be written at all. */
    private static String escape(String p) throws ImageStoreException {
        if (p.indexOf(',') >= 0) {
            throw new ImageStoreException("the store's path " + p + " has a comma, which no mount option can hold");
        }
        return p.replace(":", "\\:");
    }
}
