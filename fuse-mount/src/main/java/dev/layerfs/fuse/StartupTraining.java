package dev.layerfs.fuse;

import dev.layerfs.core.Overlay;
import dev.layerfs.core.handle.OpenFile;
import dev.layerfs.core.model.Caller;
import dev.layerfs.core.model.OverlayConfig;
import dev.layerfs.core.nativeio.Linux;
import dev.layerfs.fuse.kernel.KernelSession;
import dev.layerfs.fuse.kernel.PassthroughMode;
import dev.layerfs.image.cli.ImageMount;
import dev.layerfs.image.store.LayerStore;
import java.io.IOException;
import java.net.URISyntaxException;
import java.security.CodeSource;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Enumeration;
import java.util.List;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;

/**
 * {@code layerfs --train-startup}, run by {@code make build} under -XX:DumpLoadedClassList, from whose list the
 * launcher then dumps a static class-data archive: it loads the classes a mount loads (the libc and libfuse
 * bindings, the engine on a scratch overlay, the kernel transport's session, dispatcher and node table, the FUSE
 * callback table) without mounting anything, so that the archive makes every mount start faster. Needs neither
 * root nor /dev/fuse. Every other class of the layerfs jar is loaded too, without being run: the classes only a
 * real mount reaches (the mount daemon, the wire's request and reply codecs, INIT, the device) would otherwise be
 * read from the jar and verified at every start, before the mount is live. {@code --train-startup-image-mount}
 * adds what {@code layerfs image mount} loads before it mounts, for that path's own archive: kept out of the plain
 * mount's, whose every page the JVM touches at start (2.4 MiB more RSS in every mount).
 */
final class StartupTraining {
    private StartupTraining() {}

    /** Loads, without initialising, every class of the jar this class came from (none when run from a directory). */
    private static void loadOwnClasses() throws IOException, URISyntaxException {
        CodeSource source = StartupTraining.class.getProtectionDomain().getCodeSource();
        Path jar = source == null ? null : Path.of(source.getLocation().toURI());
        if (jar == null || !Files.isRegularFile(jar)) {
            return;
        }
        ClassLoader loader = StartupTraining.class.getClassLoader();
        try (JarFile j = new JarFile(jar.toFile())) {
            for (Enumeration<JarEntry> entries = j.entries(); entries.hasMoreElements();) {
                String name = entries.nextElement().getName();
                if (name.endsWith(".class") && !name.endsWith("module-info.class")) {
                    try {
                        Class.forName(name.substring(0, name.length() - 6).replace('/', '.'), false, loader);
                    } catch (ClassNotFoundException | LinkageError e) {
                        // A class needing what this machine lacks: the archive simply holds less.
                    }
                }
            }
        }
    }

    /**
     * What {@code layerfs image mount} adds before the mount (ImageMountCommand): a one-layer image in a scratch
     * store, resolved twice from its index.txt (which holds for that index.json by its digest, as after an import),
     * its mount recorded twice, the second time over the first record (as a mount point mounted again finds the
     * record of its last mount), and the record deleted. The store's JSON is not parsed: a mount reads it only where
     * another program changed index.json, and Jackson's classes in this archive (it was trained so before) made it
     * 2 MB larger, which every image mount maps and relocates.
     */
    private static void trainImageMount(Path dir) throws IOException {
        Path store = dir.resolve("store");
        Path blobs = Files.createDirectories(store.resolve("blobs/sha256"));
        String layer = "0".repeat(64);
        Files.createDirectories(store.resolve("layers").resolve(layer).resolve("root"));
        byte[] config = ("{\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"sha256:" + layer + "\"]}}")
                .getBytes(StandardCharsets.UTF_8);
        String configHex = sha256(config);
        Files.write(blobs.resolve(configHex), config);
        byte[] manifest = ("{\"schemaVersion\":2,\"config\":{\"digest\":\"sha256:" + configHex + "\"},"
                + "\"layers\":[{\"digest\":\"sha256:" + layer + "\"}]}").getBytes(StandardCharsets.UTF_8);
        String manifestHex = sha256(manifest);
        Files.write(blobs.resolve(manifestHex), manifest);
        byte[] index = ("{\"schemaVersion\":2,\"manifests\":[{\"digest\":\"sha256:" + manifestHex
                + "\",\"annotations\":{\"org.opencontainers.image.ref.name\":\"localhost/t:latest\"}}]}")
                .getBytes(StandardCharsets.UTF_8);
        Files.write(store.resolve("index.json"), index);
        // as MountableImage writes it, with no identity of index.json: the mount checks index.json's digest
        Files.writeString(store.resolve("index.txt"), "layerfs index.txt 2 " + sha256(index) + " -\nimage "
                + manifestHex + " " + configHex + "\nname localhost/t:latest\nlayer " + layer + " sha256:" + layer
                + "\n");
        Path mnt = Files.createDirectory(dir.resolve("image-mnt"));
        String[] refs = {"t", "t@1"};
        for (int i = 0; i < refs.length; i++) {
            try {
                ImageMount m = ImageMount.prepare(List.of("--store", store.toString(), "mount", refs[i], "-o",
                        "ephemeral", mnt.toString()), ImageMount.Caller.self());
                CommandLine.parse(m.layerfsArgs().toArray(new String[0]));
                if (i == refs.length - 1) {
                    m.abandon();
                }
            } catch (ImageMount.Refusal | UsageException e) {
                throw new IOException("image mount: " + e.getMessage(), e);
            }
        }
    }

    private static String sha256(byte[] data) {
        try {
            return java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256").digest(data));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The training run; with {@code imageMount}, what an image mount adds too (for that path's own archive). */
    static int run(boolean imageMount) {
        Path dir = null;
        try {
            dir = Files.createTempDirectory("layerfs-train-");
            Path lower = Files.createDirectories(dir.resolve("lower/d"));
            Files.writeString(lower.resolve("f"), "training");
            Path upper = Files.createDirectory(dir.resolve("upper"));
            Path work = Files.createDirectory(dir.resolve("work"));
            try (Overlay overlay = Overlay.open(OverlayConfig.writable(List.of(dir.resolve("lower")), upper, work))) {
                Caller me = new Caller(0, 0);
                overlay.readdir("/d");
                overlay.getattr("/d/f");
                OpenFile f = overlay.open("/d/f", Linux.O_RDWR);
                overlay.write(f, "t".getBytes(), 1, 0);
                overlay.release(f);
                overlay.mkdir("/n", 0755, me);
                overlay.rename("/d/f", "/n/g", 0);
                overlay.unlink("/n/g");
                overlay.listxattr("/n");
                overlay.statfs();
                KernelSession.create(overlay, new KernelSession.Options("layerfs", dir.resolve("m"), false, true,
                        true, true, true, 2, 1.0, PassthroughMode.UPPER));
                try {
                    new OverlayFuse(overlay).operations();
                } catch (UnsatisfiedLinkError e) {
                    // libfuse 2 is not installed: the archive holds the kernel transport's classes only.
                }
                CommandLine.parse(new String[] {"-o", "lowerdir=/a:/b,upperdir=/u,workdir=/w", "/m"});
                try {
                    Preflight.requireFuse();
                } catch (MountException e) {
                    // Not installed here: the archive simply holds less.
                }
            }
            if (imageMount) {
                trainImageMount(dir);
            }
            loadOwnClasses();
            return 0;
        } catch (Exception e) {
            System.err.println("layerfs: startup training failed: " + e.getMessage());
            return 1;
        } finally {
            if (dir != null) {
                try {
                    LayerStore.deleteTree(dir);
                } catch (IOException e) {
                    System.err.println("layerfs: cannot delete " + dir + ": " + e.getMessage());
                }
            }
        }
    }
}
