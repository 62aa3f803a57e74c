package dev.layerfs.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The forms mount helpers use: {@code layerfs SOURCE MOUNTPOINT -o ...} and {@code mount -t fuse.layerfs}. */
class MountHelperTest {
    @RegisterExtension
    final MountExtension ext = new MountExtension();

    private Layers layers(String name) {
        Layers l = ext.layers(name, 2);
        Fixture.file(l.lower(0).resolve("a"), "a\n");
        Fixture.file(l.lower(1).resolve("b"), "b\n");
        return l;
    }

    @Test
    void sourceMountPointAndGenericOptions() throws Exception {
        Layers l = layers("helper");
        MountExtension.Launch launch = ext.launch(l.mnt(), "my-source", l.mnt().toString(), "-o",
                l.options() + ",rw,dev,suid,exec");
        assertEquals(0, launch.exitCode(), launch.result()::toString);
        assertEquals(List.of(), launch.stderrLines(), "generic options are accepted silently");
        LayerfsMount m = launch.mount().orElseThrow();
        MountExtension.assertLive(m);
        MountInfo.Entry e = MountInfo.at(l.mnt()).orElseThrow();
        assertEquals("my-source", e.source(), "SOURCE is the name /proc/mounts shows");
        assertEquals("b\n", Files.readString(m.path("b")));
        Files.writeString(m.path("c"), "c");
        assertEquals("c", Files.readString(l.upper().resolve("c")));
    }

    /**
     * containerd's shim may mount the same root filesystem three times within 30 ms, through mount.fuse3, which
     * runs {@code PROG overlay TARGET -o workdir=...,upperdir=...,lowerdir=...,dev,suid}. All three must come up
     * (stacked on the target), and each must go away with its own unmount.
     */
    @Test
    void theSameLayersMountedThreeTimesAtOnceInTheHelperForm() throws Exception {
        Layers l = layers("thrice");
        String opts = "workdir=" + Layers.escape(l.work()) + ",upperdir=" + Layers.escape(l.upper()) + ","
                + l.lowerdirOption() + ",dev,suid";
        String one = "'" + MountExtension.launcher() + "' overlay '" + l.mnt() + "' -o '" + opts + "'";
        Sh.Result r = Sh.run(List.of("bash", "-c", "for i in 1 2 3; do (" + one + "; echo \"rc=$?\") & sleep 0.01; "
                + "done; wait"), ext.env(), null, Duration.ofSeconds(120));
        assertEquals(List.of("rc=0", "rc=0", "rc=0"), r.stdout().lines().toList(), r::toString);
        long mounted = MountInfo.read().stream().filter(e -> e.mountPoint().equals(l.mnt())).count();
        assertEquals(3, mounted, "three mounts stacked at the target");
        List<Daemon> daemons = Daemon.forMountPoint(l.mnt());
        assertEquals(3, daemons.size());
        assertEquals("b\n", Files.readString(l.mnt().resolve("b")));
        Files.writeString(l.mnt().resolve("c"), "c");
        assertEquals("c", Files.readString(l.upper().resolve("c")));
        for (int i = 3; i > 0; i--) {
            Sh.ok("umount", l.mnt().toString());
        }
        assertTrue(MountInfo.at(l.mnt()).isEmpty());
        for (Daemon d : daemons) {
            assertTrue(d.awaitExit(Duration.ofSeconds(10)), d + " exits after its unmount");
        }
    }

    private static boolean hasMountFuse3() {
        return Files.isExecutable(Path.of("/usr/sbin/mount.fuse3")) || Files.isExecutable(Path.of("/sbin/mount.fuse3"));
    }

    /** A directory holding a {@code layerfs} symlink to the launcher, and an environment with it first on PATH. */
    private Map<String, String> pathWithLayerfs() throws Exception {
        Path bin = ext.dir("bin");
        Files.createSymbolicLink(bin.resolve("layerfs"), MountExtension.launcher());
        Map<String, String> env = new HashMap<>(ext.env());
        env.put("PATH", bin + ":" + System.getenv().getOrDefault("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"));
        return env;
    }

    /** What mount(8) runs for -t fuse.layerfs: mount.fuse3 SOURCE MOUNTPOINT -o OPTIONS -t fuse.layerfs. */
    @Test
    void mountFuse3RunsLayerfsFromThePath() throws Exception {
        Assumptions.assumeTrue(hasMountFuse3(), "mount.fuse3 is not installed");
        Layers l = layers("helper3");
        Map<String, String> env = pathWithLayerfs();
        List<String> cmd = List.of("mount.fuse3", "layerfs", l.mnt().toString(), "-o", "rw," + l.options()
                + ",dev,suid", "-t", "fuse.layerfs");
        MountExtension.Launch launch = ext.adopt(l.mnt(), () -> Sh.run(cmd, env, null, Duration.ofSeconds(60)));
        assertEquals(0, launch.exitCode(), launch.result()::toString);
        LayerfsMount m = launch.mount().orElseThrow(() -> new AssertionError("no mount: " + launch.result()));
        assertMountedThroughTheHelper(m, l);
    }

    /** The form the README gives without installing: the program named in the source, type plain fuse. */
    @Test
    void mountDashTFuseWithTheProgramInTheSource() throws Exception {
        Assumptions.assumeTrue(hasMountFuse3(), "mount.fuse3 is not installed");
        Layers l = layers("hashform");
        List<String> cmd = List.of("mount", "-t", "fuse", MountExtension.launcher() + "#layerfs", l.mnt().toString(),
                "-o", l.options());
        MountExtension.Launch launch = ext.adopt(l.mnt(), () -> Sh.run(cmd, ext.env(), null, Duration.ofSeconds(60)));
        assertEquals(0, launch.exitCode(), launch.result()::toString);
        LayerfsMount m = launch.mount().orElseThrow(() -> new AssertionError("no mount: " + launch.result()));
        assertMountedThroughTheHelper(m, l);
    }

    /**
     * {@code mount -t fuse.layerfs}: mount(8) runs its helpers without the caller's PATH, so mount.fuse3 finds
     * {@code layerfs} only in the shell's default search path, where {@code make install} links it. A layerfs
     * symlink first on the caller's PATH is not enough (see {@link #mountFuse3RunsLayerfsFromThePath} for the step
     * that does use PATH).
     */
    @Test
    void mountDashTFuseLayerfs() throws Exception {
        Assumptions.assumeTrue(hasMountFuse3(), "mount.fuse3 is not installed");
        Assumptions.assumeTrue(Stream.of("/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin")
                .anyMatch(d -> Files.isExecutable(Path.of(d, "layerfs"))),
                "layerfs is not where mount(8) finds helpers: run `make install` to test mount -t fuse.layerfs");
        Layers l = layers("mountt");
        List<String> cmd = List.of("mount", "-t", "fuse.layerfs", "layerfs", l.mnt().toString(), "-o", l.options());
        MountExtension.Launch launch = ext.adopt(l.mnt(), () -> Sh.run(cmd, ext.env(), null, Duration.ofSeconds(60)));
        assertEquals(0, launch.exitCode(), launch.result()::toString);
        LayerfsMount m = launch.mount().orElseThrow(() -> new AssertionError("no mount: " + launch.result()));
        assertMountedThroughTheHelper(m, l);
    }

    /**
     * {@code mount -t fuse.layerfs} as after {@code make install}, without touching the system: in a private mount
     * namespace ({@code unshare -m}), a directory holding the layerfs link is bind-mounted over /usr/local/bin.
     * Nothing mounted in there propagates out; the daemon is found by its command line and reaped at teardown.
     */
    @Test
    void mountDashTFuseLayerfsWithLayerfsWhereMountFindsIt() throws Exception {
        Assumptions.assumeTrue(hasMountFuse3(), "mount.fuse3 is not installed");
        Assumptions.assumeTrue(Files.isExecutable(Path.of("/usr/bin/unshare")), "unshare is not installed");
        Layers l = layers("installed");
        Path bin = ext.dir("usr-local-bin");
        Files.createSymbolicLink(bin.resolve("layerfs"), MountExtension.launcher());
        Map<String, String> env = new HashMap<>(ext.env());
        env.put("BIN", bin.toString());
        env.put("MNT", l.mnt().toString());
        env.put("OPTS", l.options());
        Sh.Result r = Sh.run(List.of("unshare", "-m", "--propagation", "private", "bash", "-c", """
                set -e
                mount --bind "$BIN" /usr/local/bin
                mount -t fuse.layerfs layerfs "$MNT" -o "$OPTS"
                awk -v m="$MNT" '$5 == m { for (i = 7; $i != "-"; i++); print $(i + 1), $(i + 2) }' \
                    /proc/self/mountinfo
                cat "$MNT/a" "$MNT/b"
                echo 'through mount(8)' > "$MNT/new"
                umount "$MNT"
                """), env, null, Duration.ofSeconds(60));
        assertEquals(0, r.exitCode(), r::toString);
        assertEquals("fuse.layerfs layerfs\na\nb\n", r.stdout());
        assertEquals("through mount(8)\n", Files.readString(l.upper().resolve("new")));
        for (Daemon d : Daemon.mentioning(l.root())) {
            assertTrue(d.awaitExit(Duration.ofSeconds(5)), d + " must exit after the unmount");
        }
    }

    private static void assertMountedThroughTheHelper(LayerfsMount m, Layers l) throws Exception {
        MountExtension.assertLive(m);
        MountInfo.Entry e = MountInfo.at(l.mnt()).orElseThrow();
        assertTrue(e.fsType().equals("fuse.layerfs"), e::toString);
        assertEquals("layerfs", e.source());
        try (var s = Files.list(m.mountPoint())) {
            assertEquals(List.of("a", "b"), s.map(p -> p.getFileName().toString()).sorted().toList());
        }
        Files.writeString(m.path("new"), "through the mount helper");
        assertEquals("through the mount helper", Files.readString(l.upper().resolve("new")));
        Sh.ok("umount", l.mnt().toString());
        assertTrue(m.daemon().awaitExit(Duration.ofSeconds(5)));
        m.unmount();
    }
}
