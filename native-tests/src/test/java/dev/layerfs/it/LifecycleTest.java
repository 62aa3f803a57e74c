package dev.layerfs.it;

import static dev.layerfs.it.Errnos.assertErrno;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.layerfs.core.error.Errno;
import dev.layerfs.core.nativeio.Linux;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.EnumSet;
import java.util.List;
import java.util.SortedMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The command's life cycle: live on exit 0, teardown by umount and by signals, remount, ephemeral, read-only. */
class LifecycleTest {
    @RegisterExtension
    final MountExtension ext = new MountExtension();

    private static final Duration PROMPT = Duration.ofSeconds(5);

    private Layers layers(String name) {
        Layers l = ext.layers(name, 2);
        Fixture.file(l.lower(0).resolve("top"), "top\n");
        Fixture.file(l.lower(1).resolve("bottom"), "bottom\n");
        Fixture.file(l.lower(1).resolve("dir/inner"), "inner\n");
        return l;
    }

    private static List<String> list(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    @Test
    void theCommandExitsZeroOnlyOnceTheMountAnswers() throws Exception {
        Layers l = layers("live");
        MountExtension.Launch launch = ext.launch(l.mnt(), "-o", l.options(), l.mnt().toString());
        assertEquals(0, launch.exitCode(), launch.result()::toString);
        assertEquals(List.of(), launch.stderrLines(), "a successful mount prints nothing");
        // No waiting of any kind: the mount must answer now.
        MountInfo.Entry e = MountInfo.at(l.mnt()).orElseThrow();
        assertEquals("fuse.layerfs", e.fsType());
        assertEquals("top\n", Files.readString(l.mnt().resolve("top")));
        assertEquals(List.of("bottom", "dir", "top"), list(l.mnt()));
        LayerfsMount m = launch.mount().orElseThrow();
        assertTrue(m.daemon().holdsDevFuse());
        assertTrue(e.superOptions().contains("allow_other"), e::toString);
        assertTrue(e.superOptions().contains("default_permissions"), e::toString);

        Layers bad = ext.layers("bad", 1);
        MountExtension.Launch failed = ext.launch(bad.mnt(), "-o", "lowerdir=" + bad.root().resolve("missing"),
                bad.mnt().toString());
        assertNotEquals(0, failed.exitCode());
        assertTrue(failed.mount().isEmpty());
        assertFalse(MountInfo.isMounted(bad.mnt()));
    }

    @Test
    void umountEndsTheDaemonPromptly() throws Exception {
        Layers l = layers("um");
        LayerfsMount m = ext.mount(l);
        Files.writeString(m.path("written"), "w");
        Sh.ok("umount", l.mnt().toString());
        assertFalse(MountInfo.isMounted(l.mnt()));
        assertTrue(m.daemon().awaitExit(PROMPT), "the daemon must exit within " + PROMPT.toSeconds() + " s");
        assertEquals("w", Files.readString(l.upper().resolve("written")));
        assertEquals(List.of(), list(l.mnt()), "the mount point is an empty directory again");
        m.unmount();
    }

    @Test
    void fusermountEndsTheDaemonToo() throws Exception {
        Layers l = layers("fm");
        LayerfsMount m = ext.mount(l);
        Sh.ok("fusermount3", "-u", l.mnt().toString());
        assertFalse(MountInfo.isMounted(l.mnt()));
        assertTrue(m.daemon().awaitExit(PROMPT));
        m.unmount();
    }

    @Test
    void theSameDirectoriesCanBeMountedAgainAtOnce() throws Exception {
        Layers l = layers("again");
        LayerfsMount first = ext.mount(l);
        Files.writeString(first.path("one"), "1");
        Files.delete(first.path("bottom"));
        Sh.ok("umount", l.mnt().toString());
        LayerfsMount second = ext.mount(l);
        assertNotEquals(first.daemon().pid(), second.daemon().pid());
        assertEquals("1", Files.readString(second.path("one")));
        assertFalse(Files.exists(second.path("bottom")));
        Files.writeString(second.path("two"), "2");
        second.unmount();
        LayerfsMount third = ext.mount(l);
        assertEquals(List.of("dir", "one", "top", "two"), list(third.mountPoint()));
        third.unmount();
        assertTrue(first.daemon().awaitExit(PROMPT));
        first.unmount();
    }

    @ParameterizedTest
    @ValueSource(strings = {"TERM", "INT", "HUP"})
    void aSignalUnmountsCleanly(String signal) throws Exception {
        Layers l = layers("sig");
        LayerfsMount m = ext.mount(l);
        Files.writeString(m.path("before-signal"), "kept");
        Sh.ok("kill", "-" + signal, Long.toString(m.daemon().pid()));
        assertTrue(m.daemon().awaitExit(Duration.ofSeconds(10)), "the daemon must exit after SIG" + signal);
        assertFalse(MountInfo.isMounted(l.mnt()), "SIG" + signal + " must unmount");
        assertEquals("kept", Files.readString(l.upper().resolve("before-signal")));
        assertEquals(List.of(), list(l.mnt()));
        // The directories are usable again.
        LayerfsMount again = ext.mount(l);
        assertEquals("kept", Files.readString(again.path("before-signal")));
    }

    @Test
    void foregroundModeRunsUntilUnmounted() throws Exception {
        Layers l = layers("fg");
        MountExtension.Foreground f = ext.startForeground(l.mnt(), "-o", l.options(), l.mnt().toString());
        assertEquals("top\n", Files.readString(l.mnt().resolve("top")));
        assertTrue(f.process().isAlive());
        Sh.ok("umount", l.mnt().toString());
        assertEquals(0, f.awaitExit(Duration.ofSeconds(10)), f::log);
    }

    @Test
    void anEphemeralUpperLayerIsDeletedAtUnmount() throws Exception {
        Layers l = layers("eph");
        SortedMap<String, Tree.Node> lower1 = Tree.scan(l.lower(0), n -> true);
        SortedMap<String, Tree.Node> lower2 = Tree.scan(l.lower(1), n -> true);
        Path tmp = ext.tmpDir();
        assertEquals(List.of(), list(tmp));
        MountExtension.Launch launch = ext.launch(l.mnt(), "-o", l.lowerdirOption() + ",ephemeral",
                l.mnt().toString());
        assertEquals(0, launch.exitCode(), launch.result()::toString);
        LayerfsMount m = launch.mount().orElseThrow();
        Files.writeString(m.path("new"), "ephemeral");
        Files.writeString(m.path("top"), "changed");
        Files.delete(m.path("bottom"));
        Files.createDirectories(m.path("dir/sub"));

        List<String> made = list(tmp);
        assertEquals(1, made.size(), "one temporary directory in TMPDIR: " + made);
        assertTrue(made.get(0).startsWith("layerfs-ephemeral-"), made::toString);
        Path eph = tmp.resolve(made.get(0));
        assertEquals("ephemeral", Files.readString(eph.resolve("upper/new")));
        assertTrue(Errnos.isWhiteout(eph.resolve("upper/bottom")));

        m.unmount();
        assertEquals(List.of(), list(tmp), "the ephemeral layer is gone once the daemon has exited");
        Tree.assertSame("lower 1", lower1, Tree.scan(l.lower(0), n -> true), EnumSet.allOf(Tree.Field.class));
        Tree.assertSame("lower 2", lower2, Tree.scan(l.lower(1), n -> true), EnumSet.allOf(Tree.Field.class));
        assertEquals(List.of(), list(l.upper()), "the upperdir that was not given is untouched");
        assertEquals(List.of(), list(l.work()));
    }

    @Test
    void withoutAnUpperLayerEveryChangeIsEROFS() throws Exception {
        Layers l = layers("ro").withoutUpper();
        LayerfsMount m = ext.mount(l);
        assertTrue(MountInfo.at(l.mnt()).orElseThrow().mountOptions().startsWith("ro"),
                () -> MountInfo.at(l.mnt()).toString());
        assertReadOnly(m);
    }

    @Test
    void theRoOptionMakesAWritableStackReadOnly() throws Exception {
        Layers l = layers("ro2");
        LayerfsMount m = ext.mount(l, "ro");
        assertReadOnly(m);
        assertEquals(List.of(), list(l.upper()));
        assertEquals(List.of(), list(l.work()), "a read-only mount does not even prepare the workdir");
    }

    private static void assertReadOnly(LayerfsMount m) throws Exception {
        assertEquals("top\n", Files.readString(m.path("top")));
        assertEquals("inner\n", Files.readString(m.path("dir/inner")));
        Path top = m.path("top");
        assertErrno(Errno.EROFS, () -> Errnos.openClose(m.path("new"), Linux.O_CREAT | Linux.O_WRONLY, 0644));
        assertErrno(Errno.EROFS, () -> Errnos.openClose(top, Linux.O_WRONLY, 0));
        assertErrno(Errno.EROFS, () -> Errnos.openClose(top, Linux.O_RDWR, 0));
        assertErrno(Errno.EROFS, () -> Errnos.openClose(top, Linux.O_WRONLY | Linux.O_TRUNC, 0));
        assertErrno(Errno.EROFS, () -> Errnos.mkdir(m.path("d2"), 0755));
        assertErrno(Errno.EROFS, () -> Errnos.unlink(top));
        assertErrno(Errno.EROFS, () -> Errnos.rmdir(m.path("dir")));
        assertErrno(Errno.EROFS, () -> Errnos.rename(top, m.path("moved"), 0));
        assertErrno(Errno.EROFS, () -> Errnos.chmod(top, 0600));
        assertErrno(Errno.EROFS, () -> Errnos.link(top, m.path("hard")));
        assertErrno(Errno.EROFS, () -> Errnos.symlink("top", m.path("sym")));
        assertErrno(Errno.EROFS, () -> Errnos.mknod(m.path("fifo"), Linux.S_IFIFO | 0644, 0));
        assertErrno(Errno.EROFS, () -> Errnos.setxattr(top, "user.x", "y"));
        Sh.Result touch = Sh.run("touch", top.toString());
        assertNotEquals(0, touch.exitCode());
        assertTrue(touch.stderr().contains("Read-only file system"), touch::toString);
        Sh.Result chown = Sh.run("chown", "1:1", top.toString());
        assertTrue(chown.stderr().contains("Read-only file system"), chown::toString);
        Sh.Result truncate = Sh.run("truncate", "-s", "0", top.toString());
        assertTrue(truncate.stderr().contains("Read-only file system"), truncate::toString);
        assertEquals("top\n", Files.readString(top));
    }

    @Test
    void versionAndHelp() {
        Sh.Result v = Sh.run(MountExtension.launcher().toString(), "--version");
        assertEquals(0, v.exitCode(), v::toString);
        List<String> lines = v.stdout().lines().toList();
        assertEquals(1, lines.size(), v::toString);
        assertTrue(lines.get(0).matches("layerfs version [0-9][^ ]* .*"), v::toString);

        Sh.Result h = Sh.run(MountExtension.launcher().toString(), "--help");
        assertEquals(0, h.exitCode(), h::toString);
        assertTrue(h.stdout().contains("usage: layerfs"), h::toString);
        assertTrue(h.stdout().contains("lowerdir="), h::toString);
        assertEquals("", h.stderr());
    }
}
