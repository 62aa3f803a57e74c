package dev.layerfs.it.containers;

import static dev.layerfs.it.containers.ContainerHost.ok;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.layerfs.it.containers.ContainerHost.Store;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * containerd on the snapshotter served by {@code layerfs serve --snapshotter}: one resident daemon answers
 * containerd's snapshots API and serves the containers' root filesystems, which the shims mount as
 * {@code fuse3.layerfs} through mount.fuse3 and the mount client hands over to that same daemon (no JVM per
 * container). The snapshotter's semantics are {@link ContainerdSnapshotterTest}'s; this class shows the pieces
 * meet in one process.
 */
class ContainerdThroughServeTest {
    private static final String IMAGE = "localhost/served:latest";
    static ContainerHost podman;
    static ContainerdHost containerd;

    @BeforeAll
    static void start() throws Exception {
        ContainerdHost.assumeTools();
        podman = ContainerHost.create("containerd-serve");
        Path ctx = Files.createDirectories(podman.dir().resolve("build-ctx"));
        Files.writeString(ctx.resolve("Containerfile"), """
                FROM %s
                RUN echo lower > /etc/lower && mkdir /gone && echo x > /gone/f
                RUN rm -r /gone && echo upper >> /etc/lower
                """.formatted(ContainerHost.IMAGE));
        ok(podman.podman(Store.KERNEL, "build", "--network=none", "-q", "-t", IMAGE, ctx.toString()));
        Path archive = podman.dir().resolve("served.tar");
        ok(podman.podman(Store.KERNEL, "save", "-o", archive.toString(), IMAGE));
        containerd = ContainerdHost.startServed(Files.createDirectories(podman.dir().resolve("containerd")));
        ok(containerd.ctr("image", "import", "--snapshotter", ContainerdHost.SNAPSHOTTER, archive.toString()));
    }

    @AfterAll
    static void stop() {
        ContainerdHost.closeAll(containerd, podman);
    }

    @Test
    void theDaemonServesTheSnapshotterAndTheContainersRootFilesystem() {
        String out = ok(containerd.ctr("run", "--snapshotter", ContainerdHost.SNAPSHOTTER, "--rm", IMAGE, "served-1",
                "sh", "-c", "cat /etc/lower; ls /gone 2>&1; echo new > /root/new && cat /root/new; "
                        + "grep ' / / ' /proc/self/mountinfo | grep -o 'fuse[.a-z]*layerfs'"));
        assertEquals(List.of("lower", "upper", "ls: /gone: No such file or directory", "new", "fuse.layerfs"),
                out.lines().toList());
        // The daemon logs the end of a mount when its session ends, just after the shim's umount returned.
        long deadline = System.nanoTime() + java.time.Duration.ofSeconds(20).toNanos();
        while (!containerd.log("snapshotter.log").contains("unmounted ") && System.nanoTime() < deadline) {
            sleepQuietly(50);
        }
        String log = containerd.log("snapshotter.log");
        assertTrue(log.contains("started the containerd snapshotter"), () -> "the daemon's log:\n" + log);
        assertTrue(log.lines().anyMatch(l -> l.contains("mounted ") && l.contains("for pid")),
                () -> "the container's root filesystem was handed over to the daemon; its log:\n" + log);
        assertTrue(log.contains("unmounted "), () -> "and ended there when the container went; log:\n" + log);
    }

    @Test
    void aSecondContainerRunsBesideAFirstOnTheSameDaemon() {
        ok(containerd.ctr("run", "-d", "--snapshotter", ContainerdHost.SNAPSHOTTER, IMAGE, "served-long",
                "sleep", "60"));
        try {
            String out = ok(containerd.ctr("run", "--snapshotter", ContainerdHost.SNAPSHOTTER, "--rm", IMAGE,
                    "served-2", "cat", "/etc/lower"));
            assertEquals("lower\nupper\n", out);
        } finally {
            containerd.ctr("task", "kill", "-s", "KILL", "served-long");
            for (int i = 0; i < 50 && containerd.ctr("task", "delete", "served-long").exitCode() != 0; i++) {
                sleepQuietly(100);
            }
            ok(containerd.ctr("container", "delete", "served-long"));
        }
    }

    private static void sleepQuietly(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
