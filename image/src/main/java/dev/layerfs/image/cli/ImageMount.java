package dev.layerfs.image.cli;

import dev.layerfs.image.names.ByteNames;
import dev.layerfs.image.store.Digest;
import dev.layerfs.image.store.ImageStoreException;
import dev.layerfs.image.store.LayerStore;
import dev.layerfs.image.store.MountRecords;
import dev.layerfs.image.store.MountableImage;
import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * {@code layerfs image mount}, prepared in the process that makes the mount (the per-process mount daemon, or the
 * resident daemon for a client), so that mounting an image starts no JVM beyond the one mounting its layer
 * directories by hand would: the image resolved in the store, the mount recorded ({@link MountRecords}), and the
 * {@code layerfs} command line that mounts it, {@code -o lowerdir=TOP:...:BASE[,OPTIONS] MOUNTPOINT}, an
 * ephemeral layer to be made in {@link #tmpDir()}. A mount that is then not made is {@link #abandon()}ed, which
 * deletes its record. Refusals are the lines and exit status of {@code layerfs image mount}.
 */
public final class ImageMount {
    /** Why no mount was prepared: the lines the command prints on stderr, and its exit status. */
    public static final class Refusal extends Exception {
        private static final long serialVersionUID = 1L;
        private final List<String> lines;
        private final int exitCode;

        Refusal(List<String> lines, int exitCode) {
            super(lines.get(0));
            this.lines = List.copyOf(lines);
            this.exitCode = exitCode;
        }

        public List<String> lines() {
            return lines;
        }

        public int exitCode() {
            return exitCode;
        }
    }

    /**
     * Who asks: its directory, LAYERFS_* environment, whose default store applies (root's, or home's), and whether
     * it is this process, which then stays until the mount is live or serves it (the record names it, so that
     * {@code prune} and {@code rm} keep the image's layers while it runs, whatever mount namespace it is in).
     */
    public record Caller(Path cwd, Map<String, String> env, boolean root, Path home, boolean thisProcess) {
        /** This process. */
        public static Caller self() {
            return new Caller(Path.of("").toAbsolutePath(), System.getenv(),
                    "root".equals(System.getProperty("user.name")), Path.of(System.getProperty("user.home")), true);
        }
    }

    private final List<String> layerfsArgs;
    private final MountRecords.Record record;

    private ImageMount(List<String> layerfsArgs, MountRecords.Record record) {
        this.layerfsArgs = List.copyOf(layerfsArgs);
        this.record = record;
    }

    /**
     * Whether {@code args} (what follows {@code layerfs image}) is an image mount to prepare here: the subcommand
     * {@code mount}, with {@code --store DIR} before it or not, and no {@code --help}.
     */
    public static boolean isMount(List<String> args) {
        List<String> a = Args.storeAfterSubcommand(args);
        return !a.isEmpty() && a.get(0).equals("mount") && !a.contains("-h") && !a.contains("--help");
    }

    /** Prepares {@code layerfs image ARGS} (an {@link #isMount} command line) for {@code caller}. */
    public static ImageMount prepare(List<String> args, Caller caller) throws Refusal {
        List<String> a = Args.storeAfterSubcommand(args);
        Usage usage = MountCommand.USAGE;
        try {
            if (a.isEmpty() || !a.get(0).equals("mount")) {
                throw new UsageException("not an image mount");
            }
            return prepare(Args.parse(usage, a.subList(1, a.size())), caller);
        } catch (UsageException e) {
            throw new Refusal(List.of("layerfs image: " + e.getMessage(), "Usage: " + usage.line()), 2);
        } catch (ImageStoreException e) {
            throw new Refusal(List.of("layerfs image: " + ByteNames.displayMessage(e.getMessage())), 1);
        } catch (IOException | RuntimeException e) {
            throw new Refusal(List.of("layerfs image mount: " + ByteNames.displayMessage(String.valueOf(
                    e.getMessage() != null ? e.getMessage() : e))), 1);
        }
    }

    static ImageMount prepare(Args a, Caller caller) throws ImageStoreException, IOException {
        Path cwd = caller.cwd();
        LayerStore s = LayerStore.open(cwd.resolve(StoreOption.from(a).path(caller.env(), caller.root(),
                caller.home())));
        String[] parts = MountableImage.split(a.positional(0));
        MountableImage image = MountableImage.resolve(s, parts[0]);
        List<Digest> layers = image.layers(parts[1]);
        Path mountPoint = cwd.resolve(a.positional(1));
        if (!Files.isDirectory(mountPoint)) {
            throw new ImageStoreException("mount point " + mountPoint + " is not a directory");
        }
        Path mnt = mountPoint.toRealPath();
        // each layer's root (LayerStore.layerRoot) made as a string, and checked as a java.io.File: half the CPU
        // time of Path resolutions and Files.isDirectory, 1.3 ms of 2.7 on a 60-layer image
        String layersDir = s.layersDir() + "/";
        StringBuilder lower = new StringBuilder("lowerdir=");
        for (int i = layers.size() - 1; i >= 0; i--) {
            String root = layersDir + layers.get(i).hex() + "/root";
            if (!new File(root).isDirectory()) {
                throw new ImageStoreException("layer " + layers.get(i).shortHex() + " is missing from the store");
            }
            lower.append(escape(root));
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
                    upper = Optional.of(cwd.resolve(o.substring(9)).normalize());
                    o = "upperdir=" + upper.get();
                } else if (o.startsWith("workdir=")) {
                    o = "workdir=" + cwd.resolve(o.substring(8)).normalize();
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
        MountRecords.Record record = records.create(mnt, image.manifestDigest(), image.id(), layers, upper,
                ephemeral, caller.thisProcess());
        return new ImageMount(List.of("-o", optionList, mnt.toString()), record);
    }

    /** A path inside a lowerdir list: layerfs reads "\:" as a colon; a comma cannot be written at all. */
    private static String escape(String p) throws ImageStoreException {
        if (p.indexOf(',') >= 0) {
            throw new ImageStoreException("the store's path " + p + " has a comma, which no mount option can hold");
        }
        return p.replace(":", "\\:");
    }

    /** The {@code layerfs} arguments that make the mount: {@code -o OPTIONS MOUNTPOINT}. */
    public List<String> layerfsArgs() {
        return layerfsArgs;
    }

    /** Where the mount's ephemeral layer is made (the launcher's TMPDIR for the mount, when it runs one). */
    public Path tmpDir() {
        return record.tmpDir();
    }

    public Path mountPoint() {
        return record.mountPoint();
    }

    /** Deletes the record of a mount that was not made. */
    public void abandon() {
        try {
            LayerStore.deleteTree(record.dir());
        } catch (IOException e) {
            // a record left behind is removed as stale by the next command that lists the mounts
        }
    }
}
