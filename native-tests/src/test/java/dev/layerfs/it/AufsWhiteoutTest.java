package dev.layerfs.it;

import static dev.layerfs.it.Errnos.assertErrno;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.layerfs.core.error.Errno;
import dev.layerfs.core.nativeio.Linux;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * layerfs only (the kernel shows them as plain files): AUFS whiteouts in lower layers, {@code .wh.NAME} hiding
 * NAME below and {@code .wh..wh..opq} making a directory opaque; {@code .wh.} names are never listed and cannot
 * be created through the mount (EINVAL).
 */
class AufsWhiteoutTest {
    @RegisterExtension
    final MountExtension ext = new MountExtension();

    private static List<String> list(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    private Layers aufsLayers() {
        Layers l = ext.layers("aufs", 3);
        Path l1 = l.lower(0);
        Path l2 = l.lower(1);
        Path l3 = l.lower(2);
        Fixture.file(l3.resolve("foo"), "foo from l3\n");
        Fixture.file(l3.resolve("bar"), "bar\n");
        Fixture.file(l3.resolve("d/low3"), "low3\n");
        Fixture.file(l3.resolve("gonedir/x"), "x\n");
        Fixture.file(l3.resolve("keep/k3"), "k3\n");
        Fixture.file(l3.resolve("keep/hide3"), "hide3\n");
        Fixture.file(l2.resolve("d/low2"), "low2\n");
        Fixture.file(l2.resolve(".wh.foo"), "");
        Fixture.file(l2.resolve(".wh.gonedir"), "");
        Fixture.file(l2.resolve("keep/.wh.hide3"), "");
        Fixture.file(l2.resolve("keep/k2"), "k2\n");
        Fixture.file(l1.resolve("d/mine"), "mine\n");
        Fixture.file(l1.resolve("d/.wh..wh..opq"), "");
        Fixture.file(l1.resolve("foo2"), "foo2\n");
        return l;
    }

    @Test
    void aufsWhiteoutsInLowerLayersHideWhatIsBelow() throws Exception {
        Layers l = aufsLayers();
        LayerfsMount m = ext.mount(l);
        assertEquals(List.of("bar", "d", "foo2", "keep"), list(m.mountPoint()));
        assertFalse(Files.exists(m.path("foo"), LinkOption.NOFOLLOW_LINKS), ".wh.foo hides foo");
        assertErrno(Errno.ENOENT, () -> Errnos.lstat(m.path("foo")));
        assertErrno(Errno.ENOENT, () -> Errnos.lstat(m.path("gonedir")));
        assertErrno(Errno.ENOENT, () -> Errnos.lstat(m.path(".wh.foo")));
        assertEquals(List.of("mine"), list(m.path("d")), ".wh..wh..opq makes d opaque");
        assertErrno(Errno.ENOENT, () -> Errnos.lstat(m.path("d/low2")));
        assertErrno(Errno.ENOENT, () -> Errnos.lstat(m.path("d/.wh..wh..opq")));
        assertEquals(List.of("k2", "k3"), list(m.path("keep")));
        assertEquals("bar\n", Files.readString(m.path("bar")));

        // A name hidden by an AUFS whiteout can be made again; the upper gets a plain object.
        Files.writeString(m.path("foo"), "new foo");
        assertEquals("new foo", Files.readString(m.path("foo")));
        Files.createDirectory(m.path("gonedir"));
        assertEquals(List.of(), list(m.path("gonedir")), "the new directory does not show what was whited out");
        Files.delete(m.path("d/mine"));
        Files.delete(m.path("d"));
        assertFalse(Files.exists(m.path("d")));
        m.unmount();

        Path u = l.upper();
        try (Stream<Path> s = Files.walk(u)) {
            assertEquals(List.of(), s.filter(p -> p.getFileName().toString().startsWith(".wh.")).toList(),
                    "layerfs writes kernel whiteouts, never AUFS ones, where it may mknod");
        }
        assertTrue(Errnos.isWhiteout(u.resolve("d")));
        // As the kernel does for a whiteout in a lower layer (kernel-facts 3b): the new directory is not marked
        // opaque, the lower whiteout still ends the lookup below it.
        assertTrue(Files.isDirectory(u.resolve("gonedir"), LinkOption.NOFOLLOW_LINKS));
        assertEquals(null, Errnos.getxattr(u.resolve("gonedir"), "trusted.overlay.opaque"));
        assertEquals("new foo", Files.readString(u.resolve("foo")));

        LayerfsMount again = ext.mount(l);
        assertEquals(List.of("bar", "foo", "foo2", "gonedir", "keep"), list(again.mountPoint()));
        assertEquals(List.of(), list(again.path("gonedir")));
    }

    @Test
    void whiteoutNamesCannotBeCreatedThroughTheMount() throws Exception {
        Layers l = aufsLayers();
        LayerfsMount m = ext.mount(l);
        Path wh = m.path(".wh.new");
        assertErrno(Errno.EINVAL, () -> Errnos.openClose(wh, Linux.O_CREAT | Linux.O_WRONLY, 0644));
        assertErrno(Errno.EINVAL, () -> Errnos.mkdir(m.path(".wh.dir"), 0755));
        assertErrno(Errno.EINVAL, () -> Errnos.mkdir(m.path(".wh..wh..opq"), 0755));
        assertErrno(Errno.EINVAL, () -> Errnos.symlink("bar", m.path(".wh.sym")));
        assertErrno(Errno.EINVAL, () -> Errnos.mknod(m.path(".wh.fifo"), Linux.S_IFIFO | 0644, 0));
        assertErrno(Errno.EINVAL, () -> Errnos.link(m.path("bar"), m.path(".wh.bar")));
        assertErrno(Errno.EINVAL, () -> Errnos.rename(m.path("bar"), m.path(".wh.bar2"), 0));
        assertErrno(Errno.EINVAL, () -> Errnos.openClose(m.path("d/.wh.x"), Linux.O_CREAT | Linux.O_WRONLY, 0644));
        Sh.Result touch = Sh.run("touch", wh.toString());
        assertTrue(touch.exitCode() != 0 && touch.stderr().contains("Invalid argument"), touch::toString);
        assertEquals("bar\n", Files.readString(m.path("bar")), "a refused rename leaves the source");
        assertEquals(List.of("bar", "d", "foo2", "keep"), list(m.mountPoint()));
        try (Stream<Path> s = Files.walk(l.upper())) {
            assertEquals(List.of(), s.filter(p -> p.getFileName().toString().startsWith(".wh.")).toList());
        }
    }
}
