package dev.layerfs.it.containers;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.layerfs.it.MountExtension;
import dev.layerfs.it.Sh;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * Rootless podman (a test user with subordinate id ranges, {@code /dev/fuse} 0666) with the mount client (the
 * installed {@code layerfs}) as its {@code mount_program} and {@code LAYERFS_AUTOSTART=1} in the user's environment, which podman passes on to
 * the mount program: the first mount starts one {@code layerfs serve} inside podman's user and mount namespace,
 * with its run directory at {@code $XDG_RUNTIME_DIR/layerfs} of that user, and that daemon serves every later
 * container; no JVM per mount.
 *
 * <p>Teardown, even on failure: the containers and storage through podman, then the daemon (SIGTERM, by the pid
 * its run directory records), podman's pause process (by its pid file), then the user.
 */
class RootlessPodmanThroughDaemonTest {
    private static final Duration TIMEOUT = Duration.ofMinutes(3);
    private static final Pattern MOUNTED = Pattern.compile("HandOver - mounted .* for pid \\d+");

    @Test
    void rootlessContainersRunOnOneDaemonStartedInPodmansNamespace() throws IOException {
        ContainerHost.assumeTools();
        try (RootlessUser user = RootlessUser.create()) {
            Path runDir = user.runtimeDir.resolve("layerfs");
            Map<String, String> env = configure(user);
            try {
                Path image = imageTar(user.dir);
                ok(user.run(env, TIMEOUT, "podman", "--log-level=error", "import", image.toString(), ContainerHost.IMAGE));
                for (int i = 1; i <= 3; i++) {
                    assertEquals("hello " + i + "\n", ok(podman(user, env, "run", "--rm", ContainerHost.IMAGE,
                            "echo", "hello", Integer.toString(i))));
                }
                ok(podman(user, env, "run", "--name", "writer", ContainerHost.IMAGE, "sh", "-c",
                        "echo data > /root/f && rm /etc/motd"));
                List<String> diff = ok(podman(user, env, "diff", "writer")).lines().toList();
                assertTrue(diff.contains("A /root/f") && diff.contains("D /etc/motd"), diff.toString());
                ok(podman(user, env, "rm", "writer"));

                assertTrue(Files.exists(runDir.resolve("layerfs.pid")),
                        "no daemon started by LAYERFS_AUTOSTART=1 recorded its pid in " + runDir);
                long daemon = Long.parseLong(Files.readString(runDir.resolve("layerfs.pid"),
                        StandardCharsets.US_ASCII).trim());
                String log = Files.readString(runDir.resolve("serve.log"));
                assertTrue(Files.exists(runDir.resolve("control.sock")), "the control socket in " + runDir);
                assertEquals(1, log.lines().filter(l -> l.contains("serving mounts")).count(),
                        "one daemon started:\n" + log);
                assertTrue(log.lines().filter(l -> MOUNTED.matcher(l).find()).count() >= 4,
                        "the daemon made every container's mount:\n" + log);
                assertEquals(List.of(daemon), layerfsProcesses(user),
                        "one layerfs process of the user, the daemon: no JVM per mount");
                long pause = pausePid(user).orElseThrow(() -> new AssertionError("no podman pause process"));
                for (String ns : List.of("user", "mnt")) {
                    assertEquals(namespace(pause, ns), namespace(daemon, ns),
                            "the daemon runs in podman's " + ns + " namespace");
                }
            } finally {
                tearDown(user, env, runDir);
            }
        }
    }

    /**
     * storage.conf naming the mount client (the installed {@code layerfs}) as mount_program, a containers.conf of
     * the test's own; the environment.
     */
    private static Map<String, String> configure(RootlessUser user) throws IOException {
        Path storage = user.dir.resolve("storage.conf");
        Files.writeString(storage, """
                [storage]
                driver = "overlay"
                [storage.options.overlay]
                mount_program = "%s"
                """.formatted(MountExtension.mountClient()));
        Path containers = user.dir.resolve("containers.conf");
        Files.writeString(containers, """
                [containers]
                netns = "none"
                [engine]
                runtime = "runc"
                cgroup_manager = "cgroupfs"
                events_logger = "file"
                events_logfile_path = "%s/events.log"
                """.formatted(user.home));
        Path registries = user.dir.resolve("registries.conf");
        Files.writeString(registries, "unqualified-search-registries = []\n");
        return Map.of("CONTAINERS_STORAGE_CONF", storage.toString(), "CONTAINERS_CONF", containers.toString(),
                "CONTAINERS_REGISTRIES_CONF", registries.toString(), "LAYERFS_AUTOSTART", "1");
    }

    /** A busybox-static root filesystem with its applet links, as a tar the user can read. */
    private static Path imageTar(Path dir) {
        Path rootfs = dir.resolve("image/rootfs");
        Sh.bash("""
                set -e
                mkdir -p "$R" && cd "$R"
                mkdir -p bin etc root tmp proc sys dev
                cp /bin/busybox bin/busybox
                for a in $(bin/busybox --list); do [ "$a" = busybox ] || ln -s busybox "bin/$a"; done
                echo 'root:x:0:0:root:/root:/bin/sh' > etc/passwd
                echo 'root:x:0:' > etc/group
                echo 'layerfs test image' > etc/motd
                chmod 1777 tmp
                tar -C . -cf ../image.tar .
                chmod 0644 ../image.tar
                """, dir, Map.of("R", rootfs.toString())).assertOk();
        return rootfs.resolveSibling("image.tar");
    }

    private static Sh.Result podman(RootlessUser user, Map<String, String> env, String... args) {
        List<String> cmd = new ArrayList<>(List.of("podman", "--log-level=error"));
        cmd.addAll(List.of(args));
        return user.run(env, TIMEOUT, cmd.toArray(String[]::new));
    }

    private static String ok(Sh.Result r) {
        return ContainerHost.ok(r);
    }

    /** The user's processes running layerfs (a JVM whose command line names it). */
    private static List<Long> layerfsProcesses(RootlessUser user) {
        return user.processes().stream().filter(pid -> cmdline(pid).contains("layerfs")).toList();
    }

    private static String cmdline(long pid) {
        try {
            return new String(Files.readAllBytes(Path.of("/proc", Long.toString(pid), "cmdline")),
                    StandardCharsets.UTF_8).replace('\0', ' ');
        } catch (IOException e) {
            return "";
        }
    }

    private static Optional<Long> pausePid(RootlessUser user) {
        Path file = user.runtimeDir.resolve("libpod/tmp/pause.pid");
        try {
            return Optional.of(Long.parseLong(Files.readString(file, StandardCharsets.US_ASCII).trim()));
        } catch (IOException | NumberFormatException e) {
            return Optional.empty();
        }
    }

    private static String namespace(long pid, String ns) {
        try {
            return Files.readSymbolicLink(Path.of("/proc", Long.toString(pid), "ns", ns)).toString();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Containers and storage through podman; then SIGTERM to the daemon its run directory names (it unmounts what
     * it still serves and exits 0), SIGKILL to podman's pause process (its namespaces end with it), and SIGKILL to
     * whatever of the user is left (conmon finishing), each by pid. Fails where the daemon did not exit cleanly.
     */
    private static void tearDown(RootlessUser user, Map<String, String> env, Path runDir) {
        List<String> problems = new ArrayList<>();
        podman(user, env, "rm", "--all", "--force", "--time", "0");
        podman(user, env, "system", "reset", "--force");
        Optional<Long> daemon = readPid(runDir.resolve("layerfs.pid"));
        daemon.flatMap(ProcessHandle::of).ifPresent(p -> {
            p.destroy();
            if (!await(p, Duration.ofSeconds(20))) {
                problems.add("layerfs serve (pid " + p.pid() + ") did not exit at SIGTERM");
                p.destroyForcibly();
                await(p, Duration.ofSeconds(5));
            }
        });
        pausePid(user).flatMap(ProcessHandle::of).ifPresent(p -> {
            p.destroyForcibly();
            await(p, Duration.ofSeconds(5));
        });
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (!user.processes().isEmpty() && System.nanoTime() < deadline) {
            for (long pid : user.processes()) {
                ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
            }
            sleep(100);
        }
        if (daemon.isEmpty() && Files.exists(runDir)) {
            problems.add("no pid file in " + runDir);
        }
        assertEquals(List.of(), problems, "teardown");
    }

    private static Optional<Long> readPid(Path file) {
        try {
            return Optional.of(Long.parseLong(Files.readString(file, StandardCharsets.US_ASCII).trim()));
        } catch (IOException | NumberFormatException e) {
            return Optional.empty();
        }
    }

    private static boolean await(ProcessHandle p, Duration d) {
        try {
            p.onExit().get(d.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS);
            return true;
        } catch (Exception e) {
            return !p.isAlive();
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
