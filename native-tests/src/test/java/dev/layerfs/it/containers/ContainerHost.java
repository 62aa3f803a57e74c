package dev.layerfs.it.containers;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.layerfs.it.Daemon;
import dev.layerfs.it.MountExtension;
import dev.layerfs.it.MountInfo;
import dev.layerfs.it.ResidentDaemon;
import dev.layerfs.it.Sh;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * podman and buildah with storage, state and configuration of their own under one temporary directory, so that
 * nothing in /etc/containers or /var/lib/containers is read or touched. Two stores: one whose overlay driver uses
 * layerfs as its {@code mount_program}, one that uses the kernel overlay (for comparisons). Both get the same
 * image, {@code localhost/bb}: a busybox-static root filesystem with its applet links, imported offline.
 *
 * <p>{@link #close()} removes every container and image through the tools, unmounts what is still mounted below
 * the directory (only there), and fails if a layerfs daemon or a layerfs mount started for this host outlived
 * the teardown. It never touches anything outside its directory.
 */
final class ContainerHost implements AutoCloseable {
    static final String IMAGE = "localhost/bb";
    private static final Duration TIMEOUT = Duration.ofMinutes(3);

    /** Which overlay a store uses. */
    enum Store {
        LAYERFS, KERNEL
    }

    /**
     * The system property that has every host's layerfs mounts made through a resident daemon ({@code layerfs
     * serve}) of its own: {@code -Dlayerfs.daemon=serve} runs the real-client tests once that way.
     */
    static final String DAEMON_PROPERTY = "layerfs.daemon";

    private final Path dir;
    private final Map<Store, Map<String, String>> env = new HashMap<>();
    /** The daemon serving this host's layerfs mounts, or null where each mount has a process of its own. */
    private ResidentDaemon resident;

    /** Takes down what the tools left below the directory if the JVM ends before {@link #close} (a killed build). */
    private final Thread onExit;

    private ContainerHost(Path dir) {
        this.dir = dir;
        this.onExit = new Thread(this::forceCleanUp, "layerfs-it-containers-cleanup");
        Runtime.getRuntime().addShutdownHook(onExit);
    }

    /** Skips (JUnit assumption) where the tools are missing: {@code make test} installs them. */
    static void assumeTools() {
        for (String tool : List.of("podman", "buildah", "runc")) {
            assumeTrue(Sh.run("sh", "-c", "command -v " + tool).exitCode() == 0,
                    tool + " is not installed (make test installs it: scripts/install-deps.sh containers)");
        }
        assumeTrue(Files.isExecutable(Path.of("/bin/busybox")),
                "/bin/busybox is missing (make test installs busybox-static)");
    }

    static ContainerHost create(String name) {
        return create(name, "serve".equals(System.getProperty(DAEMON_PROPERTY)));
    }

    /** A host whose layerfs mounts are made through a resident daemon of its own where {@code throughDaemon}. */
    static ContainerHost create(String name, boolean throughDaemon) {
        assumeTools();
        try {
            Path dir = Files.createDirectory(Path.of("/tmp", "layerfs-it-" + name + "-"
                    + UUID.randomUUID().toString().substring(0, 8)));
            Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
            ContainerHost host = new ContainerHost(dir);
            try {
                host.configure(throughDaemon);
                if (throughDaemon) {
                    host.resident = ResidentDaemon.start(dir);
                    host.env.get(Store.LAYERFS).putAll(host.resident.env());
                    host.env.get(Store.LAYERFS).put("TMPDIR", dir.resolve("tmp").toString());
                }
                host.importImage();
            } catch (IOException | RuntimeException | Error e) {
                try {
                    host.close();
                } catch (Throwable t) {
                    e.addSuppressed(t);
                }
                throw e;
            }
            return host;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    Path dir() {
        return dir;
    }

    private void configure(boolean throughDaemon) throws IOException {
        Path home = Files.createDirectories(dir.resolve("home/.config/containers")).getParent().getParent();
        Files.writeString(home.resolve(".config/containers/policy.json"),
                "{\"default\":[{\"type\":\"insecureAcceptAnything\"}]}\n");
        Files.writeString(dir.resolve("registries.conf"), "unqualified-search-registries = []\n");
        Files.writeString(dir.resolve("containers.conf"), """
                [containers]
                default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
                netns = "none"

                [engine]
                runtime = "runc"
                cgroup_manager = "cgroupfs"
                events_logger = "file"
                events_logfile_path = "%1$s/events.log"
                tmp_dir = "%1$s/libpod-tmp"
                # locks in files below tmp_dir, not the host-wide /dev/shm/libpod_lock
                lock_type = "file"

                [network]
                network_config_dir = "%1$s/net"
                """.formatted(dir));
        for (Store s : Store.values()) {
            String name = s.name().toLowerCase();
            Path conf = dir.resolve("storage-" + name + ".conf");
            // Through a daemon, the mount client itself, as `make install` installs it; else bin/layerfs.
            Path mountProgram = throughDaemon ? MountExtension.mountClient() : MountExtension.launcher();
            String program = s == Store.LAYERFS
                    ? "[storage.options.overlay]\nmount_program = \"" + mountProgram + "\"\n"
                    : "";
            Files.writeString(conf, """
                    [storage]
                    driver = "overlay"
                    graphroot = "%1$s/%2$s/root"
                    runroot = "%1$s/%2$s/run"
                    %3$s""".formatted(dir, name, program));
            Map<String, String> e = new HashMap<>();
            e.put("CONTAINERS_STORAGE_CONF", conf.toString());
            e.put("CONTAINERS_CONF", dir.resolve("containers.conf").toString());
            e.put("CONTAINERS_REGISTRIES_CONF", dir.resolve("registries.conf").toString());
            e.put("HOME", home.toString());
            e.put("TMPDIR", Files.createDirectories(dir.resolve("tmp")).toString());
            e.put("XDG_CONFIG_HOME", home.resolve(".config").toString());
            e.put("XDG_DATA_HOME", Files.createDirectories(home.resolve(".local/share")).toString());
            e.put("XDG_RUNTIME_DIR", Files.createDirectories(dir.resolve("xdg-run")).toString());
            e.put("BUILDAH_ISOLATION", "oci");
            env.put(s, e);
        }
    }

    /** A busybox-static root filesystem with its applet links, tarred and imported into both stores. */
    private void importImage() throws IOException {
        Path rootfs = Files.createDirectories(dir.resolve("image/rootfs"));
        Sh.bash("""
                set -e
                mkdir -p bin etc root tmp proc sys dev
                cp /bin/busybox bin/busybox
                for a in $(bin/busybox --list); do [ "$a" = busybox ] || ln -s busybox "bin/$a"; done
                echo 'root:x:0:0:root:/root:/bin/sh' > etc/passwd
                echo 'root:x:0:' > etc/group
                echo 'layerfs test image' > etc/motd
                chmod 1777 tmp
                tar -C . -cf ../image.tar .
                """, rootfs, Map.of()).assertOk();
        for (Store s : Store.values()) {
            ok(podman(s, "import", dir.resolve("image/image.tar").toString(), IMAGE));
        }
    }

    /** podman with this host's configuration, against a store. */
    Sh.Result podman(Store store, String... args) {
        List<String> cmd = new ArrayList<>(List.of("podman", "--log-level=error"));
        cmd.addAll(Arrays.asList(args));
        return Sh.run(cmd, env.get(store), dir, TIMEOUT);
    }

    /** podman against the layerfs store. */
    Sh.Result podman(String... args) {
        return podman(Store.LAYERFS, args);
    }

    /**
     * {@code podman rm ARGS... NAME} (the name last), required to succeed, except for podman 4.3's race between rm
     * and the cleanup that conmon starts when a container exits (containers/podman#11594, fixed in 4.4): rm drops
     * the container, then fails to delete its {@code userdata/shm} with EBUSY. The container must then be gone
     * from podman; the storage left behind goes with {@link #close()}'s {@code podman system reset}, which also
     * checks that no layerfs mount or daemon survived. The shm is a tmpfs of podman's, not the layerfs mount.
     */
    String removeContainer(Store store, String... args) {
        List<String> cmd = new ArrayList<>(List.of("rm"));
        cmd.addAll(Arrays.asList(args));
        Sh.Result r = podman(store, cmd.toArray(String[]::new));
        if (r.exitCode() != 0 && r.stderr().contains("/userdata/shm: device or resource busy")) {
            String name = args[args.length - 1];
            assertEquals(1, podman(store, "container", "exists", name).exitCode(),
                    () -> "after podman's rm/cleanup race the container is gone: " + r);
            System.err.println("podman rm " + name + ": podman 4.3's shm race (containers/podman#11594), the"
                    + " container is gone: " + r.stderr().strip());
            return r.stdout();
        }
        return ok(r);
    }

    /** buildah with this host's configuration, against the layerfs store. */
    Sh.Result buildah(String... args) {
        List<String> cmd = new ArrayList<>(List.of("buildah", "--log-level=error"));
        cmd.addAll(Arrays.asList(args));
        return Sh.run(cmd, env.get(Store.LAYERFS), dir, TIMEOUT);
    }

    /** Requires exit 0, with the whole result in the message otherwise; returns stdout. */
    static String ok(Sh.Result r) {
        assertEquals(0, r.exitCode(), () -> "failed: " + r);
        return r.stdout();
    }

    /** layerfs mounts below this host's directory right now. */
    List<MountInfo.Entry> layerfsMounts() {
        return MountInfo.under(dir).stream().filter(m -> m.fsType().equals("fuse.layerfs")).toList();
    }

    /** layerfs daemons whose command line or working directory is below this host's directory. */
    List<Daemon> daemons() {
        return Daemon.mentioning(dir);
    }

    /**
     * Removes containers and images through the tools, then checks that no layerfs mount or daemon remains
     * (waiting a little for daemons to finish exiting), cleans up whatever does remain below the directory
     * anyway, deletes it, and fails if anything had to be cleaned up by force.
     */
    @Override
    public void close() {
        List<String> problems = new ArrayList<>();
        buildah("rm", "--all");
        for (Store s : Store.values()) {
            podman(s, "rm", "--all", "--force", "--time", "0");
            podman(s, "system", "reset", "--force");
        }
        long deadline = System.nanoTime() + Duration.ofSeconds(15).toNanos();
        while ((!layerfsMounts().isEmpty() || !daemons().isEmpty()) && System.nanoTime() < deadline) {
            sleep(200);
        }
        if (!layerfsMounts().isEmpty()) {
            problems.add("layerfs mounts left after the tools' teardown: " + layerfsMounts());
        }
        List<Daemon> left = daemons();
        if (!left.isEmpty()) {
            problems.add((resident == null ? "layerfs daemons still running after their unmount: "
                    : "layerfs processes of their own, where the resident daemon should have served: ") + left);
        }
        if (resident != null) {
            int status = resident.stop(Duration.ofSeconds(20));
            if (status != 0) {
                problems.add("layerfs serve exited with " + status + " at SIGTERM:\n" + resident.log());
            }
            if (!resident.problems().isEmpty()) {
                problems.add("layerfs serve logged problems: " + resident.problems());
            }
        }
        unmountAndKill();
        try {
            Runtime.getRuntime().removeShutdownHook(onExit);
        } catch (IllegalStateException e) {
            // the JVM is shutting down: the hook runs anyway, and finds nothing left
        }
        if (MountInfo.under(dir).isEmpty()) {
            Sh.run("rm", "-rf", "--one-file-system", dir.toString());
        } else {
            problems.add("mounts below " + dir + " could not be removed; the directory is left: "
                    + MountInfo.under(dir));
        }
        if (!problems.isEmpty()) {
            throw new AssertionError(String.join("\n", problems));
        }
    }

    /** The resident daemon's log ("" without one). */
    String residentLog() {
        return resident == null ? "" : resident.log();
    }

    /** Unmounts everything below the directory (only there) and stops the layerfs daemons started for it. */
    private void unmountAndKill() {
        if (resident != null) {
            resident.close();
        }
        for (MountInfo.Entry m : MountInfo.under(dir)) {
            if (Sh.run("umount", m.mountPoint().toString()).exitCode() != 0) {
                Sh.run("umount", "-l", m.mountPoint().toString());
            }
        }
        for (Daemon d : daemons()) {
            if (!d.awaitExit(Duration.ofSeconds(5))) {
                d.kill();
            }
        }
    }

    private void forceCleanUp() {
        unmountAndKill();
        if (MountInfo.under(dir).isEmpty()) {
            Sh.run("rm", "-rf", "--one-file-system", dir.toString());
        }
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
