package dev.layerfs.it.containers;

import static dev.layerfs.it.containers.ContainerHost.ok;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.layerfs.it.Sh;
import dev.layerfs.it.Tree;
import dev.layerfs.it.containers.ContainerHost.Store;
import dev.layerfs.it.containers.ContainerdHost.SnapshotMount;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * containerd with the layerfs snapshotter as its proxy plugin: an image archive written by {@code podman save}
 * imported with {@code ctr image import}, containers run on it with {@code ctr run --snapshotter layerfs}, the
 * snapshot commands of {@code ctr snapshot}, and the image's root filesystem compared with the one containerd's own
 * overlayfs snapshotter gives for the same archive. The image (built by podman on the kernel overlay) has three
 * layers: busybox, then files, a symbolic link, a hard link, a FIFO, modes and owners, a deletion (a whiteout),
 * then a directory replaced (an opaque directory).
 */
class ContainerdSnapshotterTest {
    private static final String IMAGE = "localhost/layered:latest";
    static ContainerHost podman;
    static ContainerdHost containerd;
    /** The chain ID of the image's top layer: the committed snapshot every container of the image starts from. */
    static String top;

    @BeforeAll
    static void start() throws Exception {
        ContainerdHost.assumeTools();
        podman = ContainerHost.create("containerd");
        Path ctx = Files.createDirectories(podman.dir().resolve("build-ctx"));
        Files.writeString(ctx.resolve("Containerfile"), """
                FROM %s
                RUN echo two > /etc/two && chmod 0640 /etc/two && rm /etc/motd && mkdir -p /d/e /o/old \\
                    && chown 1000:100 /d/e && ln -s ../etc/two /d/link && ln /etc/passwd /etc/passwd-link \\
                    && mkfifo /d/fifo && echo old > /o/old/f && chmod 4755 /bin/busybox
                RUN rm -r /o && mkdir /o && echo new > /o/new && echo changed > /etc/two
                """.formatted(ContainerHost.IMAGE));
        ok(podman.podman(Store.KERNEL, "build", "--network=none", "-q", "-t", IMAGE, ctx.toString()));
        Path archive = podman.dir().resolve("layered.tar");
        ok(podman.podman(Store.KERNEL, "save", "-o", archive.toString(), IMAGE));
        containerd = ContainerdHost.start(Files.createDirectories(podman.dir().resolve("containerd")));
        ok(containerd.ctr("image", "import", "--snapshotter", ContainerdHost.SNAPSHOTTER, archive.toString()));
        ok(containerd.ctr("image", "import", "--snapshotter", "overlayfs", archive.toString()));
        top = topOfChain();
    }

    @AfterAll
    static void stop() {
        ContainerdHost.closeAll(containerd, podman);
    }

    /** The committed snapshot of the layerfs snapshotter that no other snapshot names as its parent. */
    private static String topOfChain() {
        List<String[]> rows = rows(ok(containerd.snapshots(ContainerdHost.SNAPSHOTTER, "ls")));
        Set<String> parents = new HashSet<>();
        rows.forEach(r -> parents.add(r[1]));
        List<String> tops = rows.stream().filter(r -> r[2].equals("Committed") && !parents.contains(r[0]))
                .map(r -> r[0]).toList();
        assertEquals(1, tops.size(), () -> "one top of the image's chain: " + rows.stream().map(List::of).toList());
        return tops.get(0);
    }

    /** {@code ctr snapshot ls} as KEY, PARENT (empty for none), KIND rows. */
    private static List<String[]> rows(String ls) {
        List<String[]> out = new ArrayList<>();
        for (String line : ls.lines().skip(1).toList()) {
            String[] w = line.trim().split("\\s+");
            out.add(w.length == 2 ? new String[] {w[0], "", w[1]} : w);
        }
        return out;
    }

    private static String layerfs(String... args) {
        return ok(containerd.snapshots(ContainerdHost.SNAPSHOTTER, args));
    }

    @Test
    void importUnpacksEveryLayerAsACommittedSnapshot() {
        List<String[]> rows = rows(layerfs("ls"));
        assertEquals(3, rows.stream().filter(r -> r[2].equals("Committed")).count(),
                () -> "three layers, three committed snapshots: " + layerfs("ls"));
        assertEquals(1, rows.stream().filter(r -> r[1].isEmpty()).count(), "one base layer");
    }

    /**
     * The base layer is unpacked the same way by both snapshotters (into a bind mount of the empty layer), so its
     * usage is the same. The others are not compared: containerd unpacks a layer for the overlayfs snapshotter
     * straight into the upper directory, and for layerfs through the mount, where the third layer's replaced
     * directory leaves a whiteout of its old child instead of an opaque directory (README, containerd).
     */
    @Test
    void theBaseLayersUsageIsTheOverlayfsSnapshotters() {
        String base = rows(layerfs("ls")).stream().filter(r -> r[1].isEmpty()).findFirst().orElseThrow()[0];
        assertEquals(ok(containerd.snapshots("overlayfs", "usage", base)), layerfs("usage", base));
    }

    @Test
    void runsACommandOnTheImage() {
        String out = ok(containerd.ctr("run", "--snapshotter", ContainerdHost.SNAPSHOTTER, "--rm", IMAGE, "run-1",
                "sh", "-c", "cat /etc/two /o/new; ls /o; ls /etc/motd 2>&1; readlink /d/link; stat -c '%a %u:%g' "
                        + "/etc/two /d/e; id -u"));
        assertEquals(List.of("changed", "new", "new", "ls: /etc/motd: No such file or directory", "../etc/two",
                "640 0:0", "755 1000:100", "0"), out.lines().toList());
        Sh.Result failing = containerd.ctr("run", "--snapshotter", ContainerdHost.SNAPSHOTTER, "--rm", IMAGE,
                "run-2", "sh", "-c", "exit 3");
        assertEquals(3, failing.exitCode(), failing.toString());
    }

    @Test
    void aRunThatWritesLeavesItsFileInTheActiveSnapshotsUpperLayer() throws Exception {
        ok(containerd.ctr("run", "--snapshotter", ContainerdHost.SNAPSHOTTER, IMAGE, "writer",
                "sh", "-c", "echo written > /root/new && echo more >> /etc/two && rm /d/link"));
        Path upper = null;
        try {
            SnapshotMount m = SnapshotMount.parse(layerfs("mounts", "/unused", "writer").strip());
            assertEquals("fuse3.layerfs", m.type());
            upper = Path.of(m.option("upperdir"));
            assertEquals("written\n", Files.readString(upper.resolve("root/new")));
            assertEquals("changed\nmore\n", Files.readString(upper.resolve("etc/two")), "copied up, then appended");
            Tree.Node whiteout = Tree.node("d/link", upper.resolve("d/link"), n -> false);
            assertTrue(whiteout.isWhiteout(), "a deletion is a whiteout in the upper layer: " + whiteout);
            assertEquals(3, m.option("lowerdir").split(":").length, "the image's three layers below");
        } finally {
            // ctr run deletes the task when it ends; the container and its snapshot stay until deleted.
            ok(containerd.ctr("container", "delete", "writer"));
        }
        assertTrue(rows(layerfs("ls")).stream().noneMatch(r -> r[0].equals("writer")),
                "the container's snapshot goes with it");
        // containerd removes it from the snapshotter in its garbage collection.
        containerd.collect(IMAGE);
        Path layer = upper.getParent();
        assertTrue(!Files.exists(layer), () -> "the layer directory goes at containerd's garbage collection: "
                + layer + "; snapshotter log:\n" + containerd.log("snapshotter.log"));
    }

    @Test
    void prepareCommitViewUsageAndRemove() throws Exception {
        layerfs("prepare", "work", top);
        SnapshotMount m = SnapshotMount.parse(layerfs("mounts", "/unused", "work").strip());
        Path upper = Path.of(m.option("upperdir"));
        Files.writeString(upper.resolve("added"), "x".repeat(10_000));
        String usage = usageOf("work");
        long blocks = Long.parseLong(ok(Sh.run("stat", "-c", "%b", upper.toString())).strip())
                + Long.parseLong(ok(Sh.run("stat", "-c", "%b", upper.resolve("added").toString())).strip());
        assertEquals(2, Long.parseLong(usage.split("\\s+")[2]), () -> "two inodes (the layer's root and a file): "
                + usage);
        assertEquals(humanSize(blocks * 512), usage.split("\\s+")[1], "the blocks both take");

        layerfs("commit", "work-done", "work");
        List<String[]> rows = rows(layerfs("ls"));
        assertTrue(rows.stream().anyMatch(r -> r[0].equals("work-done") && r[1].equals(top)
                && r[2].equals("Committed")), () -> layerfs("ls"));
        assertTrue(rows.stream().noneMatch(r -> r[0].equals("work")), "the active snapshot became the committed one");
        assertEquals(usage.replace("work ", ""), usageOf("work-done").replace("work-done ", ""),
                "a committed snapshot keeps the usage it had");

        containerd.view(ContainerdHost.SNAPSHOTTER, "look", "work-done");
        SnapshotMount view = SnapshotMount.parse(layerfs("mounts", "/unused", "look").strip());
        assertEquals("fuse3.layerfs", view.type());
        assertTrue(view.options().contains("ro"), () -> "a view is read-only: " + view);
        assertEquals(4, view.option("lowerdir").split(":").length);
        Path target = Files.createDirectories(containerd.dir().resolve("look"));
        containerd.mount(ContainerdHost.SNAPSHOTTER, "look", target);
        try {
            assertEquals(10_000, Files.size(target.resolve("added")));
            assertEquals("new\n", Files.readString(target.resolve("o/new")));
            Sh.Result write = Sh.run("sh", "-c", "echo > " + target.resolve("o/new"));
            assertNotEquals(0, write.exitCode(), "a view cannot be written");
            assertTrue(write.stderr().contains("Read-only file system"), write.toString());
        } finally {
            ok(Sh.run("umount", target.toString()));
        }

        Sh.Result refused = containerd.snapshots(ContainerdHost.SNAPSHOTTER, "rm", "work-done");
        assertNotEquals(0, refused.exitCode(), "a snapshot with a child stays");
        assertTrue(refused.stderr().contains("failed precondition"), refused.toString());
        Sh.Result twice = containerd.snapshots(ContainerdHost.SNAPSHOTTER, "prepare", "look", top);
        assertTrue(twice.stderr().contains("already exists"), twice.toString());
        Sh.Result orphan = containerd.snapshots(ContainerdHost.SNAPSHOTTER, "prepare", "orphan", "no-such-parent");
        assertTrue(orphan.stderr().contains("not found"), orphan.toString());

        layerfs("rm", "look");
        layerfs("rm", "work-done");
        assertTrue(rows(layerfs("ls")).stream().noneMatch(r -> r[0].startsWith("work") || r[0].equals("look")),
                () -> layerfs("ls"));
    }

    /** {@code ctr snapshot usage KEY}'s row: KEY SIZE INODES, the size as ctr prints it. */
    private static String usageOf(String key) {
        return layerfs("usage", key).lines().skip(1).findFirst().orElseThrow().trim().replaceAll("\\s+(?=[0-9])",
                " ").replace(" KiB", "KiB").replace(" MiB", "MiB").replace(" B", "B");
    }

    /** A size as ctr prints it (one decimal, in powers of 1024), without the space. */
    private static String humanSize(long bytes) {
        String[] units = {"B", "KiB", "MiB", "GiB"};
        double v = bytes;
        int u = 0;
        while (v >= 1024 && u < units.length - 1) {
            v /= 1024;
            u++;
        }
        return String.format(java.util.Locale.ROOT, "%.1f%s", v, units[u]);
    }

    @Test
    void aKilledSnapshotterComesBackWithEverySnapshot() throws Exception {
        layerfs("prepare", "before-kill", top);
        SnapshotMount m = SnapshotMount.parse(layerfs("mounts", "/unused", "before-kill").strip());
        Files.writeString(Path.of(m.option("upperdir")).resolve("kept"), "kept\n");
        String before = layerfs("ls");
        containerd.killAndRestartSnapshotter();
        assertEquals(before, layerfs("ls"), "every snapshot, as it was");
        assertEquals(m, SnapshotMount.parse(layerfs("mounts", "/unused", "before-kill").strip()));
        String out = ok(containerd.ctr("run", "--snapshotter", ContainerdHost.SNAPSHOTTER, "--rm", IMAGE,
                "after-kill", "cat", "/o/new"));
        assertEquals("new\n", out, "containerd runs on the restarted snapshotter");
        layerfs("rm", "before-kill");
    }

    @Test
    void theRootFilesystemEqualsTheOverlayfsSnapshotters() throws Exception {
        Path mine = Files.createDirectories(containerd.dir().resolve("rootfs-layerfs"));
        Path theirs = Files.createDirectories(containerd.dir().resolve("rootfs-overlayfs"));
        containerd.view(ContainerdHost.SNAPSHOTTER, "compare", top);
        containerd.view("overlayfs", "compare", top);
        try {
            containerd.mount(ContainerdHost.SNAPSHOTTER, "compare", mine);
            containerd.mount("overlayfs", "compare", theirs);
            var expected = Tree.scan(theirs, Tree.USER_XATTRS);
            var actual = Tree.scan(mine, Tree.USER_XATTRS);
            assertTrue(expected.size() > 250, "busybox's links and the image's files: " + expected.size());
            Tree.assertSame("the image's root filesystem (overlayfs snapshotter, layerfs snapshotter)", expected,
                    actual, Tree.STRUCTURE);
        } finally {
            Sh.run("umount", mine.toString());
            Sh.run("umount", theirs.toString());
            containerd.snapshots(ContainerdHost.SNAPSHOTTER, "rm", "compare");
            containerd.snapshots("overlayfs", "rm", "compare");
        }
    }
}
