package dev.layerfs.it;

import static dev.layerfs.it.Errnos.getxattr;
import static dev.layerfs.it.Errnos.isWhiteout;
import static dev.layerfs.it.Errnos.lstat;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.layerfs.core.nativeio.Stat;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.util.EnumSet;
import java.util.List;
import java.util.SortedMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * What layerfs leaves in the upper layer, looked at after the unmount: kernel-format whiteouts (character
 * devices 0/0), opaque directories marked trusted.overlay.opaque=y, and copies with the lower object's content,
 * mode, owner, times and xattrs; and that layerfs and the kernel overlay both read it back as the same tree.
 */
class UpperLayerFormatTest {
    @RegisterExtension
    final MountExtension ext = new MountExtension();

    private static List<String> list(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    @Test
    void removalsLeaveWhiteoutsAndARecreatedDirectoryIsOpaque() throws Exception {
        Layers l = ext.layers("wh", 2);
        Path l1 = l.lower(0);
        Path l2 = l.lower(1);
        Fixture.file(l2.resolve("gone2"), "g2");
        Fixture.file(l2.resolve("shared"), "s2");
        Fixture.file(l2.resolve("dir/keep"), "k");
        Fixture.file(l2.resolve("dir/rm"), "r");
        Fixture.file(l2.resolve("tree/a/b"), "b");
        Fixture.dir(l2.resolve("emptydir"));
        Fixture.file(l2.resolve("redo/x"), "x");
        Fixture.file(l1.resolve("redo/y"), "y");
        Fixture.file(l1.resolve("gone1"), "g1");
        Fixture.file(l1.resolve("shared"), "s1");
        Fixture.symlink(l1.resolve("link"), "gone1");
        SortedMap<String, Tree.Node> lowers1 = Tree.scan(l1, n -> true);
        SortedMap<String, Tree.Node> lowers2 = Tree.scan(l2, n -> true);

        LayerfsMount m = ext.mount(l);
        for (String p : List.of("gone2", "gone1", "shared", "dir/rm", "link", "redo/x", "redo/y")) {
            Files.delete(m.path(p));
        }
        Sh.ok("rm", "-rf", m.path("tree").toString());
        Files.delete(m.path("emptydir"));
        Files.delete(m.path("redo"));
        Files.createDirectory(m.path("redo"));
        Files.writeString(m.path("redo/new"), "n");
        Files.writeString(m.path("added"), "a");
        Files.delete(m.path("added"));
        assertEquals(List.of("dir", "redo"), list(m.mountPoint()));
        SortedMap<String, Tree.Node> merged = Tree.scan(m.mountPoint(), Tree.USER_XATTRS);
        m.unmount();

        Path u = l.upper();
        for (String p : List.of("gone2", "gone1", "shared", "dir/rm", "link", "tree", "emptydir")) {
            assertTrue(isWhiteout(u.resolve(p)), p + " must be a character device 0/0");
            Stat st = lstat(u.resolve(p));
            assertEquals(0, st.uid(), p);
            assertEquals(0, st.size(), p);
        }
        assertEquals(List.of("dir", "emptydir", "gone1", "gone2", "link", "redo", "shared", "tree"), list(u));
        assertEquals(List.of("rm"), list(u.resolve("dir")), "dir is copied up, only to hold the whiteout");
        assertNull(getxattr(u.resolve("dir"), "trusted.overlay.opaque"), "dir is still merged");
        assertEquals("y", getxattr(u.resolve("redo"), "trusted.overlay.opaque"));
        assertEquals(List.of("new"), list(u.resolve("redo")), "an opaque directory needs no whiteouts inside");
        assertEquals(List.of("work"), list(l.work()));
        Tree.assertSame("lower layer 1", lowers1, Tree.scan(l1, n -> true), EnumSet.allOf(Tree.Field.class));
        Tree.assertSame("lower layer 2", lowers2, Tree.scan(l2, n -> true), EnumSet.allOf(Tree.Field.class));

        // Read back by layerfs ...
        LayerfsMount again = ext.mount(l);
        Tree.assertSame("the merged views before and after a remount", merged,
                Tree.scan(again.mountPoint(), Tree.USER_XATTRS), Tree.STRUCTURE);
        again.unmount();
        // ... and by the kernel overlay, which must see the same tree.
        KernelOverlay k = ext.mountKernel(l);
        Tree.assertSame("layerfs's and the kernel's views of the upper layer layerfs wrote", merged,
                Tree.scan(k.mountPoint(), Tree.USER_XATTRS), Tree.STRUCTURE);
        k.unmount();
    }

    @Test
    void copiesKeepContentModeOwnerTimesAndXattrs() throws Exception {
        Layers l = ext.layers("cu", 1);
        Path l1 = l.lower(0);
        Fixture.file(l1.resolve("a/b/f"), "file content\n", "rw-r-----");
        Fixture.owner(l1.resolve("a/b/f"), 1005, 1006);
        Fixture.xattr(l1.resolve("a/b/f"), "user.fattr", "v2");
        Fixture.dir(l1.resolve("a/b"), "rwx---r-x");
        Fixture.owner(l1.resolve("a/b"), 1003, 1004);
        Fixture.xattr(l1.resolve("a/b"), "user.lowattr", "v1");
        Fixture.dir(l1.resolve("a"), "rwxr-x--x");
        Fixture.owner(l1.resolve("a"), 1001, 1002);
        Fixture.file(l1.resolve("p"), "append to me\n");
        Fixture.file(l1.resolve("t"), "truncate me\n", "rwxr-x---");
        Fixture.file(l1.resolve("u"), "times\n");
        Fixture.symlink(l1.resolve("sym"), "p");
        Fixture.file(l1.resolve("x"), "xattr\n");
        Fixture.xattr(l1.resolve("x"), "user.old", "o");
        Sh.ok("mkfifo", l1.resolve("fifo").toString());
        Fixture.ageAll(l1);
        // Lower ctimes are what they are; the mode of a copy must not depend on the umask.
        SortedMap<String, Tree.Node> lower = Tree.scan(l1, n -> true);

        LayerfsMount m = ext.mount(l);
        Files.setPosixFilePermissions(m.path("a/b/f"), PosixFilePermissions.fromString("rw-------"));
        Files.writeString(m.path("p"), "more\n", StandardOpenOption.APPEND);
        try (RandomAccessFile f = new RandomAccessFile(m.path("t").toFile(), "rw")) {
            f.setLength(5);
        }
        FileTime t = FileTime.from(Instant.ofEpochSecond(1_500_000_000L, 5L));
        Files.setLastModifiedTime(m.path("u"), t);
        Sh.ok("chown", "-h", "77:88", m.path("sym").toString());
        Xattr.set(m.path("x"), "user.new", "n").assertOk();
        Sh.ok("chmod", "0600", m.path("fifo").toString());
        m.unmount();

        Path u = l.upper();
        Tree.Node a = Tree.node("a", u.resolve("a"), n -> true);
        assertEquals('d', a.type());
        assertEquals(0751, a.perms());
        assertEquals(1001, a.uid());
        assertEquals(1002, a.gid());
        assertEquals(lower.get("a").mtime(), a.mtime(), "a parent keeps its mtime, to the ns");
        Tree.Node b = Tree.node("a/b", u.resolve("a/b"), Tree.USER_XATTRS);
        assertEquals(0705, b.perms());
        assertEquals(1003, b.uid());
        assertEquals(1004, b.gid());
        assertEquals("v1", b.xattrs().get("user.lowattr"));
        assertEquals(lower.get("a/b").mtime(), b.mtime(), "a copy-up is not a change of the parent");
        Tree.Node f = Tree.node("a/b/f", u.resolve("a/b/f"), Tree.USER_XATTRS);
        assertEquals(0600, f.perms());
        assertEquals(1005, f.uid());
        assertEquals(1006, f.gid());
        assertEquals("file content\n", Files.readString(u.resolve("a/b/f")));
        assertEquals(lower.get("a/b/f").mtime(), f.mtime());
        assertEquals("v2", f.xattrs().get("user.fattr"));

        assertEquals("append to me\nmore\n", Files.readString(u.resolve("p")));
        assertEquals(0644, lstat(u.resolve("p")).mode() & 07777);
        assertEquals("trunc", Files.readString(u.resolve("t")));
        assertEquals(0750, lstat(u.resolve("t")).mode() & 07777);
        assertEquals(t, Files.getLastModifiedTime(u.resolve("u")));
        assertEquals("times\n", Files.readString(u.resolve("u")));
        assertTrue(Files.isSymbolicLink(u.resolve("sym")));
        assertEquals(Path.of("p"), Files.readSymbolicLink(u.resolve("sym")));
        assertEquals(77, Files.getAttribute(u.resolve("sym"), "unix:uid", LinkOption.NOFOLLOW_LINKS));
        assertEquals("o", getxattr(u.resolve("x"), "user.old"));
        assertEquals("n", getxattr(u.resolve("x"), "user.new"));
        assertEquals("xattr\n", Files.readString(u.resolve("x")));
        assertEquals(dev.layerfs.core.nativeio.Linux.S_IFIFO, lstat(u.resolve("fifo")).type());
        assertEquals(0600, lstat(u.resolve("fifo")).mode() & 07777);
        assertFalse(Files.exists(u.resolve("a/b/f.tmp")));

        Tree.assertSame("the lower layer", lower, Tree.scan(l1, n -> true), EnumSet.allOf(Tree.Field.class));
        try (Stream<Path> w = Files.walk(l.work())) {
            assertEquals(List.of(l.work(), l.work().resolve("work")), w.sorted().toList(),
                    "nothing is left in the workdir");
        }
    }

    @Test
    void sparseFilesStaySparseThroughACopyUp() throws Exception {
        Layers l = ext.layers("sparse", 1);
        Path lower = l.lower(0).resolve("sparse");
        Sh.ok("truncate", "-s", "200M", lower.toString());
        Sh.ok("sh", "-c", "printf head | dd of=" + lower + " conv=notrunc status=none && printf tail | dd of="
                + lower + " bs=1 seek=209715196 conv=notrunc status=none");
        long lowerBlocks = lstat(lower).blocks();
        assertTrue(lowerBlocks < 1024, "the fixture is sparse: " + lowerBlocks);
        LayerfsMount m = ext.mount(l);
        Files.setPosixFilePermissions(m.path("sparse"), PosixFilePermissions.fromString("rw-------"));
        m.unmount();
        Path copy = l.upper().resolve("sparse");
        assertEquals(200L * 1024 * 1024, Files.size(copy));
        long blocks = lstat(copy).blocks();
        assertTrue(blocks < 4096, "the copy keeps the holes: " + blocks + " blocks of 512 bytes");
        assertEquals(Tree.sha256(lower), Tree.sha256(copy));
    }
}
