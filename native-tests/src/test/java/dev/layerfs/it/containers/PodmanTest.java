package dev.layerfs.it.containers;

import static dev.layerfs.it.containers.ContainerHost.IMAGE;
import static dev.layerfs.it.containers.ContainerHost.ok;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.layerfs.it.MountInfo;
import dev.layerfs.it.Sh;
import dev.layerfs.it.containers.ContainerHost.Store;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * podman with layerfs as its overlay {@code mount_program}: run, diff, commit, build, exec, cp, mount, export,
 * {@code --uidmap}, and many containers in a row, each checked by what the container or the host then sees. One
 * store (and image) serves the whole class; each test removes the containers it made.
 */
class PodmanTest {
    static ContainerHost host;

    @BeforeAll
    static void host() {
        host = ContainerHost.create("podman");
    }

    @AfterAll
    static void teardown() {
        if (host != null) {
            host.close();
        }
    }

    private static String podman(String... args) {
        return ok(host.podman(args));
    }

    private static String rm(String... args) {
        return host.removeContainer(Store.LAYERFS, args);
    }

    private static List<String> lines(String s) {
        return s.lines().toList();
    }

    @Test
    void infoNamesLayerfsAsTheMountProgram() {
        String info = podman("info", "--format", "{{.Store.GraphDriverName}} {{json .Store.GraphOptions}}");
        assertTrue(info.startsWith("overlay "), info);
        assertTrue(info.contains("bin/layerfs"), info);
    }

    @Test
    void runsACommandInAContainer() {
        assertEquals("hello\n", podman("run", "--rm", "--network=none", IMAGE, "echo", "hello"));
        assertEquals("layerfs test image\n", podman("run", "--rm", "--network=none", IMAGE, "cat", "/etc/motd"));
        Sh.Result failing = host.podman("run", "--rm", "--network=none", IMAGE, "sh", "-c", "exit 7");
        assertEquals(7, failing.exitCode(), failing.toString());
    }

    @Test
    void aRunThatWritesShowsInDiffAndSurvivesACommit() {
        podman("run", "--name", "writer", "--network=none", IMAGE, "sh", "-c",
                "echo data > /root/f && rm /etc/motd && mkdir -p /newdir/sub && echo more >> /etc/passwd");
        List<String> diff = lines(podman("diff", "writer"));
        for (String expected : List.of("A /root/f", "D /etc/motd", "A /newdir", "C /etc/passwd", "C /root")) {
            assertTrue(diff.contains(expected), "podman diff lacks '" + expected + "': " + diff);
        }
        podman("commit", "-q", "writer", "localhost/committed");
        String seen = podman("run", "--rm", "--network=none", "localhost/committed", "sh", "-c",
                "cat /root/f; tail -n 1 /etc/passwd; ls -d /newdir/sub; ls /etc/motd 2>&1 || echo gone");
        assertEquals(List.of("data", "more", "/newdir/sub", "ls: /etc/motd: No such file or directory", "gone"),
                lines(seen));
        rm("writer");
        podman("rmi", "localhost/committed");
    }

    @Test
    void anOfflineBuildWhoseStepsAddChangeAndDeleteFiles() throws Exception {
        Path ctx = Files.createDirectories(host.dir().resolve("build-ctx"));
        Files.writeString(ctx.resolve("added.txt"), "from the context\n");
        Files.writeString(ctx.resolve("Containerfile"), """
                FROM %s
                RUN echo one > /a && echo two > /b && mkdir -p /d/e && echo x > /d/e/f && echo keep > /d/k
                RUN echo changed > /a && rm /b && rm -r /d/e && rm /etc/motd && echo appended >> /etc/passwd
                COPY added.txt /added.txt
                RUN test ! -e /b && test ! -e /d/e && cat /a /added.txt > /summary
                """.formatted(IMAGE));
        podman("build", "--network=none", "-q", "-t", "localhost/built", ctx.toString());
        String seen = podman("run", "--rm", "--network=none", "localhost/built", "sh", "-c",
                "cat /summary; ls /d; ls /b /d/e /etc/motd 2>/dev/null; tail -n 1 /etc/passwd");
        assertEquals(List.of("changed", "from the context", "k", "appended"), lines(seen));
        podman("rmi", "localhost/built");
    }

    @Test
    void execAndCpInAndOut() throws Exception {
        podman("run", "-d", "--name", "sleeper", "--network=none", IMAGE, "sleep", "600");
        try {
            assertEquals("e\n", podman("exec", "sleeper", "sh", "-c", "echo e > /tmp/e && cat /tmp/e"));
            Path in = host.dir().resolve("in.txt");
            Files.writeString(in, "copied in\n");
            podman("cp", in.toString(), "sleeper:/root/in.txt");
            assertEquals("copied in\n", podman("exec", "sleeper", "cat", "/root/in.txt"));
            Path out = host.dir().resolve("out.txt");
            podman("cp", "sleeper:/tmp/e", out.toString());
            assertEquals("e\n", Files.readString(out));
            podman("cp", "sleeper:/etc/motd", out.toString());
            assertEquals("layerfs test image\n", Files.readString(out), "a file of the image layer");
        } finally {
            rm("--force", "--time", "0", "sleeper");
        }
    }

    @Test
    void podmanMountAndImageMountAreLayerfsMounts() throws Exception {
        podman("create", "--name", "mounted", "--network=none", IMAGE, "true");
        Path m = Path.of(podman("mount", "mounted").strip());
        try {
            assertEquals("fuse.layerfs", MountInfo.at(m).orElseThrow().fsType());
            assertEquals("layerfs test image\n", Files.readString(m.resolve("etc/motd")));
            Files.writeString(m.resolve("root/from-host"), "host\n");
        } finally {
            podman("umount", "mounted");
        }
        assertTrue(MountInfo.at(m).isEmpty(), "unmounted");
        podman("start", "--attach", "mounted");
        Path again = Path.of(podman("mount", "mounted").strip());
        assertEquals("host\n", Files.readString(again.resolve("root/from-host")), "written through the mount");
        podman("umount", "mounted");
        rm("mounted");

        Path im = Path.of(podman("image", "mount", IMAGE).strip());
        try {
            assertEquals("fuse.layerfs", MountInfo.at(im).orElseThrow().fsType());
            assertTrue(Files.isRegularFile(im.resolve("bin/busybox")));
            assertTrue(Files.isSymbolicLink(im.resolve("bin/sh")));
        } finally {
            podman("image", "umount", IMAGE);
        }
        assertTrue(MountInfo.at(im).isEmpty(), "image unmounted");
    }

    @Test
    void exportListsTheSameEntriesAsWithTheKernelOverlay() {
        String script = "echo e > /root/e && rm /etc/motd && mkdir -p /x/y && ln -s /x/y /z && rm -r /tmp && "
                + "chmod 700 /root && echo more >> /etc/passwd";
        Map<Store, List<String>> listings = new java.util.EnumMap<>(Store.class);
        for (Store s : Store.values()) {
            ok(host.podman(s, "run", "--name", "exported", "--network=none", IMAGE, "sh", "-c", script));
            Path tar = host.dir().resolve("export-" + s + ".tar");
            ok(host.podman(s, "export", "-o", tar.toString(), "exported"));
            host.removeContainer(s, "exported");
            listings.put(s, tarListing(tar));
        }
        assertTrue(listings.get(Store.KERNEL).size() > 200, "busybox has hundreds of applet links");
        assertTrue(listings.get(Store.KERNEL).contains("-rw-r--r-- 0/0 2 root/e"), "the file the container wrote");
        assertTrue(listings.get(Store.KERNEL).stream().noneMatch(l -> l.endsWith(" etc/motd")), "deleted");
        assertEquals(listings.get(Store.KERNEL), listings.get(Store.LAYERFS));
    }

    /** {@code tar tv} lines without the times: type and mode, owner, size, name (and link target), sorted. */
    private static List<String> tarListing(Path tar) {
        String out = Sh.ok("tar", "--numeric-owner", "-tvf", tar.toString()).stdout();
        return out.lines().map(l -> {
            String[] f = l.trim().split("\\s+", 6);
            return f[0] + " " + f[1] + " " + f[2] + " " + f[5];
        }).sorted().toList();
    }

    @Test
    void aRunUnderUidmapSeesItselfAsRootAndOwnsItsFiles() {
        String inside = podman("run", "--rm", "--network=none", "--uidmap", "0:100000:65536", "--gidmap",
                "0:100000:65536", IMAGE, "sh", "-c",
                "id -u; stat -c %u:%g /etc/passwd; echo x > /root/y && stat -c %u:%g /root/y; "
                        + "chown 5:6 /root/y && stat -c %u:%g /root/y; cat /etc/hosts >/dev/null && echo hosts");
        assertEquals(List.of("0", "0:0", "0:0", "5:6", "hosts"), lines(inside));

        podman("create", "--name", "mapped", "--network=none", "--uidmap", "0:100000:65536", "--gidmap",
                "0:100000:65536", IMAGE, "true");
        Path m = Path.of(podman("mount", "mapped").strip());
        try {
            assertEquals("100000:100000\n", Sh.ok("stat", "-c", "%u:%g", m.resolve("etc/passwd").toString())
                    .stdout(), "the host sees the container's root as 100000");
        } finally {
            podman("umount", "mapped");
            rm("mapped");
        }
    }

    /**
     * Under --uidmap podman hands over lower layers already shifted (100000 and up): a file copied up there, and a new
     * one, must reach the upper layer in one id form, so that the committed image shows both owned by root.
     */
    @Test
    void aCommitUnderUidmapKeepsOwnersOfCopiedUpAndNewFiles() {
        podman("run", "--name", "umc", "--network=none", "--uidmap", "0:100000:65536", "--gidmap", "0:100000:65536",
                IMAGE, "sh", "-c", "chmod 600 /etc/motd && echo n > /root/new");
        try {
            String upper = podman("inspect", "--format", "{{.GraphDriver.Data.UpperDir}}", "umc").strip();
            assertEquals("0:0\n0:0\n", Sh.ok("stat", "-c", "%u:%g", Path.of(upper, "etc/motd").toString(),
                    Path.of(upper, "root/new").toString()).stdout(), "one id form in the upper layer");
            podman("commit", "-q", "umc", "localhost/umc");
            String seen = podman("run", "--rm", "--network=none", "localhost/umc", "stat", "-c", "%u:%g %a",
                    "/etc/motd", "/root/new");
            assertEquals(List.of("0:0 600", "0:0 644"), lines(seen));
        } finally {
            rm("--force", "umc");
            host.podman("rmi", "--force", "localhost/umc");
        }
    }

    @Test
    void twentyContainersStartedAndRemovedInARow() {
        for (int i = 0; i < 20; i++) {
            String name = "row" + i;
            assertEquals(i + "\n", podman("run", "--name", name, "--network=none", IMAGE, "sh", "-c",
                    "echo " + i + " > /root/n && cat /root/n"));
            rm(name);
        }
        assertEquals("", podman("ps", "--all", "--quiet"));
        assertEquals(List.of(), host.layerfsMounts(), "every container's mount is gone");
        assertNotEquals(0, Sh.run("sh", "-c", "ls " + host.dir() + "/layerfs/root/overlay/*/merged/root/n")
                .exitCode(), "no merged directory still shows a container's file");
    }
}
