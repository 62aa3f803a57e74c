package dev.layerfs.it.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.layerfs.it.Daemon;
import dev.layerfs.it.MountExtension;
import dev.layerfs.it.MountInfo;
import dev.layerfs.it.Sh;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * The image tests' world, all below one temporary directory: podman's store and configuration (made by
 * make-images.sh, which also builds and saves the test images), a layerfs image store, and mount points.
 * {@link #close} unmounts everything below the directory (only there), resets podman's store, checks that no
 * layerfs daemon started for it is left, and deletes the directory.
 */
final class ImageLab implements AutoCloseable {
    private static final Duration TIMEOUT = Duration.ofMinutes(3);
    final Path dir;
    final Path store;
    private final Map<String, String> podmanEnv = new HashMap<>();
    private final Thread onExit;

    private ImageLab(Path dir) {
        this.dir = dir;
        this.store = dir.resolve("store");
        this.onExit = new Thread(this::unmountAll, "layerfs-it-image-cleanup");
        Runtime.getRuntime().addShutdownHook(onExit);
    }

    static ImageLab create() {
        for (String tool : List.of("podman", "umoci", "runc", "getfattr")) {
            assumeTrue(Sh.run("sh", "-c", "command -v " + tool).exitCode() == 0,
                    tool + " is not installed (make test installs it: scripts/install-deps.sh containers)");
        }
        assumeTrue(Files.isExecutable(Path.of("/bin/busybox")), "/bin/busybox is missing (busybox-static)");
        Path dir;
        try {
            dir = Files.createDirectory(Path.of("/tmp", "layerfs-it-image-" + UUID.randomUUID().toString()
                    .substring(0, 8)));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        ImageLab lab = new ImageLab(dir);
        try {
            Sh.run(List.of("bash", resource("make-images.sh").toString(), dir.toString()), Map.of(), dir, TIMEOUT)
                    .assertOk();
            for (String line : readLines(dir.resolve("env"))) {
                for (String assignment : line.replaceFirst("^export ", "").split(" ")) {
                    int eq = assignment.indexOf('=');
                    if (eq > 0) {
                        lab.podmanEnv.put(assignment.substring(0, eq), assignment.substring(eq + 1));
                    }
                }
            }
        } catch (RuntimeException | Error e) {
            lab.close();
            throw e;
        }
        return lab;
    }

    static Path resource(String name) {
        return Path.of(System.getProperty("layerfs.launcher")).getParent().getParent()
                .resolve("native-tests/src/test/resources/image").resolve(name);
    }

    /** {@code layerfs image --store STORE ARGS...}. */
    Sh.Result layerfs(String... args) {
        List<String> cmd = new ArrayList<>(List.of(MountExtension.launcher().toString(), "image", "--store",
                store.toString()));
        cmd.addAll(Arrays.asList(args));
        return Sh.run(cmd, Map.of(), dir, TIMEOUT);
    }

    Sh.Result podman(String... args) {
        List<String> cmd = new ArrayList<>(List.of("podman", "--log-level=error"));
        cmd.addAll(Arrays.asList(args));
        return Sh.run(cmd, podmanEnv, dir, TIMEOUT);
    }

    Sh.Result umoci(String... args) {
        List<String> cmd = new ArrayList<>(List.of("umoci", "--log=error"));
        cmd.addAll(Arrays.asList(args));
        return Sh.run(cmd, Map.of(), dir, TIMEOUT);
    }

    /** tree.sh's description of a tree: names, types, modes, owners, sizes, mtimes, targets, content, xattrs. */
    String tree(Path root) {
        return ok(Sh.run(List.of("bash", resource("tree.sh").toString(), root.toString()), Map.of(), dir,
                TIMEOUT));
    }

    /** A description of everything an image command may change in the store (not locks/, tmp/, mounts/). */
    String storeState() {
        return ok(Sh.bash("cd " + store + " && find blobs layers index.json oci-layout -printf '%p %y %m %s\\n' "
                + "2>/dev/null | sort && cat index.json 2>/dev/null | sha256sum", dir, Map.of()));
    }

    Path mkdir(String name) {
        try {
            return Files.createDirectories(dir.resolve(name));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static String ok(Sh.Result r) {
        assertEquals(0, r.exitCode(), () -> "failed: " + r);
        return r.stdout();
    }

    private static List<String> readLines(Path p) {
        try {
            return Files.readAllLines(p);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Unmounts what is mounted below the directory (only there), waiting for its daemons to exit. */
    void unmountAll() {
        List<MountInfo.Entry> mounts = new ArrayList<>(MountInfo.under(dir));
        java.util.Collections.reverse(mounts);
        for (MountInfo.Entry m : mounts) {
            if (Sh.run("umount", m.mountPoint().toString()).exitCode() != 0) {
                Sh.run("umount", "-l", m.mountPoint().toString());
            }
        }
        for (Daemon d : Daemon.mentioning(dir)) {
            if (!d.awaitExit(Duration.ofSeconds(10))) {
                d.kill();
            }
        }
    }

    @Override
    public void close() {
        List<String> problems = new ArrayList<>();
        podman("rm", "--all", "--force", "--time", "0");
        unmountAll();
        podman("system", "reset", "--force");
        unmountAll();
        if (!Daemon.mentioning(dir).isEmpty()) {
            problems.add("layerfs daemons left: " + Daemon.mentioning(dir));
        }
        try {
            Runtime.getRuntime().removeShutdownHook(onExit);
        } catch (IllegalStateException e) {
            // shutting down: the hook runs anyway
        }
        if (MountInfo.under(dir).isEmpty()) {
            Sh.run("rm", "-rf", "--one-file-system", dir.toString());
        } else {
            problems.add("mounts left below " + dir + ": " + MountInfo.under(dir));
        }
        if (!problems.isEmpty()) {
            throw new AssertionError(String.join("\n", problems));
        }
    }
}
