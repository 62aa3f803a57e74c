package dev.layerfs.core.ops;

import static dev.layerfs.core.testing.FsAssert.assertErrno;
import static dev.layerfs.core.testing.FsAssert.assertSameMetadata;
import static dev.layerfs.core.testing.FsAssert.assertScratchEmpty;
import static dev.layerfs.core.testing.OverlayIo.create;
import static dev.layerfs.core.testing.OverlayIo.exists;
import static dev.layerfs.core.testing.OverlayIo.names;
import static dev.layerfs.core.testing.OverlayIo.read;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.layerfs.core.Overlay;
import dev.layerfs.core.error.Errno;
import dev.layerfs.core.handle.OpenFile;
import dev.layerfs.core.model.Caller;
import dev.layerfs.core.nativeio.Linux;
import dev.layerfs.core.nativeio.Stat;
import dev.layerfs.core.testing.LayerTree;
import dev.layerfs.core.testing.LowerLayersUnchanged;
import dev.layerfs.core.testing.OverlayFixture;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** create, mkdir, mknod, symlink and link. */
@ExtendWith(LowerLayersUnchanged.class)
class CreationTest {
    static final Caller USER = new Caller(2000, 2001);

    @TempDir
    Path tmp;

    OverlayFixture fx;
    LayerTree upper;

    @BeforeEach
    void fixture() {
        fx = OverlayFixture.create(tmp);
        upper = fx.upper();
    }

    // ---- create ----

    @Test
    void aNewFileIsOwnedByTheCallerWithExactlyTheGivenMode() throws Exception {
        Overlay ov = fx.open();
        OpenFile f = ov.open("f", Linux.O_RDWR | Linux.O_CREAT | Linux.O_EXCL, 0640, USER);
        assertTrue(f.onUpper());
        ov.write(f, "hi".getBytes(), 2, 0);
        ov.release(f);
        Stat st = ov.getattr("f");
        assertEquals(Linux.S_IFREG | 0640, st.mode());
        assertEquals(2000, st.uid());
        assertEquals(2001, st.gid());
        assertEquals("hi", upper.read("f"));
        assertEquals(List.of(), upper.xattrNames("f"));
    }

    @Test
    void aFileCreatedInALowerDirectoryCopiesTheDirectoryUpFirst() throws Exception {
        fx.l1().dir("a/b").mode(0750).owner(5, 6).mtime(1_100_000_000L, 5);
        fx.l1().at("a").mode(0711).owner(3, 4).mtime(1_000_000_000L, 4);
        Overlay ov = fx.open();
        create(ov, "a/b/new", "n");
        assertSameMetadata(fx.l1().stat("a"), upper.stat("a"), "a");
        assertEquals(Linux.S_IFDIR | 0750, upper.stat("a/b").mode());
        assertEquals(5, upper.stat("a/b").uid());
        assertEquals("n", upper.read("a/b/new"));
        assertScratchEmpty(fx);
    }

    @Test
    void aFileCreatedOverADeviceWhiteoutIsAPlainFile() throws Exception {
        fx.l1().file("f", "lower");
        Overlay ov = fx.open();
        ov.unlink("f");
        create(ov, "f", "new");
        assertEquals("new", read(ov, "f"));
        assertTrue(upper.stat("f").isRegularFile());
        assertEquals(List.of(), upper.xattrNames("f"));
        assertScratchEmpty(fx);
    }

    @Test
    void aFileCreatedOverAnUpperAufsWhiteoutRemovesIt() throws Exception {
        upper.aufsWhiteout("f");
        fx.l1().file("f", "lower");
        Overlay ov = fx.open();
        assertFalse(exists(ov, "f"));
        create(ov, "f", "new");
        assertEquals("new", read(ov, "f"));
        assertFalse(upper.exists(".wh.f"));
    }

    @Test
    void aFileCreatedWhereOnlyALowerWhiteoutIsNeedsNoUpperWhiteout() throws Exception {
        fx.l1().whiteout("f");
        fx.l2().file("f", "hidden");
        Overlay ov = fx.open();
        create(ov, "f", "new");
        assertEquals("new", read(ov, "f"));
    }

    @Test
    void aSetgidDirectoryGivesItsGroupAndPassesTheBitToSubdirectories() throws Exception {
        fx.l1().dir("sg").mode(02775).owner(0, 1234);
        Overlay ov = fx.open();
        create(ov, "sg/f", "x", 0644, USER);
        ov.mkdir("sg/sub", 0755, USER);
        Stat f = ov.getattr("sg/f");
        assertEquals(Linux.S_IFREG | 0644, f.mode());
        assertEquals(2000, f.uid());
        assertEquals(1234, f.gid());
        Stat sub = ov.getattr("sg/sub");
        assertEquals(Linux.S_IFDIR | 02755, sub.mode());
        assertEquals(1234, sub.gid());
        assertEquals(Linux.S_IFDIR | 02775, upper.stat("sg").mode(), "the copied-up parent keeps set-gid");
        assertEquals(1234, upper.stat("sg").gid());
        ov.mknod("sg/p", Linux.S_IFIFO | 0600, 0, USER);
        assertEquals(1234, ov.getattr("sg/p").gid());
        ov.symlink("f", "sg/ln", USER);
        assertEquals(1234, ov.getattr("sg/ln").gid());
    }

    @Test
    void withoutSetgidTheCallersGroupIsUsed() throws Exception {
        fx.l1().dir("d").mode(0777).owner(0, 1234);
        Overlay ov = fx.open();
        ov.mkdir("d/sub", 0755, USER);
        assertEquals(2001, ov.getattr("d/sub").gid());
        assertEquals(Linux.S_IFDIR | 0755, ov.getattr("d/sub").mode());
    }

    @ParameterizedTest
    @ValueSource(strings = {".wh.x", ".wh..wh..opq", "d/.wh.f", ".wh."})
    void namesBeginningWithWhCannotBeCreated(String name) throws Exception {
        fx.l1().file("f", "f");
        fx.l1().file("d/f", "f");
        Overlay ov = fx.open();
        assertErrno(Errno.EINVAL, () -> ov.open(name, Linux.O_WRONLY | Linux.O_CREAT, 0644, Caller.ROOT));
        assertErrno(Errno.EINVAL, () -> ov.mkdir(name, 0755, Caller.ROOT));
        assertErrno(Errno.EINVAL, () -> ov.mknod(name, Linux.S_IFIFO | 0644, 0, Caller.ROOT));
        assertErrno(Errno.EINVAL, () -> ov.mknod(name, Linux.S_IFREG | 0644, 0, Caller.ROOT));
        assertErrno(Errno.EINVAL, () -> ov.symlink("t", name, Caller.ROOT));
        assertErrno(Errno.EINVAL, () -> ov.link("f", name));
        assertTrue(exists(ov, "f"));
        assertTrue(exists(ov, "d/f"));
        assertFalse(upper.exists(name));
    }

    @Test
    void createErrors() throws Exception {
        fx.l1().file("file", "x");
        Overlay ov = fx.open();
        assertErrno(Errno.ENOENT, () -> create(ov, "missing/f", ""));
        assertErrno(Errno.ENOTDIR, () -> create(ov, "file/f", ""));
        assertErrno(Errno.EEXIST, () -> create(ov, "file", ""));
        assertErrno(Errno.EEXIST, () -> ov.mkdir("/", 0755, Caller.ROOT));
    }

    // ---- mkdir ----

    @Test
    void mkdirMakesAnEmptyDirectoryOwnedByTheCaller() throws Exception {
        Overlay ov = fx.open();
        ov.mkdir("d", 0750, USER);
        Stat st = ov.getattr("d");
        assertEquals(Linux.S_IFDIR | 0750, st.mode());
        assertEquals(2000, st.uid());
        assertEquals(2001, st.gid());
        assertEquals(2, st.nlink());
        assertEquals(List.of(), ov.readdir("d"));
        assertEquals(List.of(), upper.xattrNames("d"), "a directory made where nothing was is not opaque");
    }

    @Test
    void mkdirOverAnUpperWhiteoutMakesAnOpaqueDirectory() throws Exception {
        upper.whiteout("d");
        fx.l1().file("d/old", "hidden");
        Overlay ov = fx.open();
        ov.mkdir("d", 0755, Caller.ROOT);
        assertTrue(upper.stat("d").isDirectory());
        assertEquals("y", upper.xattr("d", "trusted.overlay.opaque"));
        assertEquals(List.of("trusted.overlay.opaque"), upper.xattrNames("d"));
        assertEquals(List.of(), ov.readdir("d"));
        assertEquals(2, ov.getattr("d").nlink());
        assertScratchEmpty(fx);
    }

    @Test
    void mkdirAfterRemovingALowerDirectoryIsOpaque() throws Exception {
        fx.l1().file("p/d/a", "a");
        fx.l2().file("p/d/b", "b");
        Overlay ov = fx.open();
        ov.unlink("p/d/a");
        ov.unlink("p/d/b");
        ov.rmdir("p/d");
        ov.mkdir("p/d", 0755, Caller.ROOT);
        assertTrue(upper.isOpaque("p/d"));
        assertEquals(List.of(), ov.readdir("p/d"));
        assertScratchEmpty(fx);
    }

    @Test
    void mkdirOverAnUpperAufsWhiteoutIsOpaqueAndRemovesIt() throws Exception {
        upper.aufsWhiteout("d");
        fx.l1().file("d/old", "hidden");
        Overlay ov = fx.open();
        ov.mkdir("d", 0755, Caller.ROOT);
        assertTrue(upper.isOpaque("d"));
        assertFalse(upper.exists(".wh.d"));
        assertEquals(List.of(), ov.readdir("d"));
    }

    @Test
    void mkdirWhereOnlyALowerWhiteoutIsIsNotOpaque() throws Exception {
        fx.l1().whiteout("d");
        fx.l2().file("d/below", "hidden");
        Overlay ov = fx.open();
        assertFalse(exists(ov, "d"));
        ov.mkdir("d", 0755, Caller.ROOT);
        assertEquals(List.of(), upper.xattrNames("d"));
        assertEquals(List.of(), ov.readdir("d"), "l1's whiteout still stops the lookup");
    }

    @Test
    void mkdirOnAnExistingNameIsEexist() throws Exception {
        fx.l1().file("f", "x");
        fx.l2().dir("d");
        Overlay ov = fx.open();
        assertErrno(Errno.EEXIST, () -> ov.mkdir("f", 0755, Caller.ROOT));
        assertErrno(Errno.EEXIST, () -> ov.mkdir("d", 0755, Caller.ROOT));
        assertErrno(Errno.ENOTDIR, () -> ov.mkdir("f/x", 0755, Caller.ROOT));
        assertErrno(Errno.ENOENT, () -> ov.mkdir("no/x", 0755, Caller.ROOT));
    }

    // ---- mknod ----

    @Test
    void mknodMakesFifosDevicesSocketsAndFiles() throws Exception {
        Overlay ov = fx.open();
        ov.mknod("fifo", Linux.S_IFIFO | 0640, 0, USER);
        ov.mknod("chr", Linux.S_IFCHR | 0600, LayerTree.makedev(1, 3), Caller.ROOT);
        ov.mknod("blk", Linux.S_IFBLK | 0600, LayerTree.makedev(7, 1), Caller.ROOT);
        ov.mknod("sock", Linux.S_IFSOCK | 0700, 0, Caller.ROOT);
        ov.mknod("reg", Linux.S_IFREG | 0604, 0, Caller.ROOT);
        ov.mknod("reg0", 0604, 0, Caller.ROOT);
        assertEquals(Linux.S_IFIFO | 0640, ov.getattr("fifo").mode());
        assertEquals(2000, ov.getattr("fifo").uid());
        assertEquals(Linux.S_IFCHR | 0600, ov.getattr("chr").mode());
        assertEquals(LayerTree.makedev(1, 3), ov.getattr("chr").rdev());
        assertEquals(Linux.S_IFBLK | 0600, ov.getattr("blk").mode());
        assertEquals(Linux.S_IFSOCK | 0700, ov.getattr("sock").mode());
        assertEquals(Linux.S_IFREG | 0604, ov.getattr("reg").mode());
        assertEquals(Linux.S_IFREG | 0604, ov.getattr("reg0").mode());
        assertEquals(0, ov.getattr("reg").size());
    }

    @Test
    void mknodErrors() throws Exception {
        fx.l1().file("f", "x");
        Overlay ov = fx.open();
        assertErrno(Errno.EEXIST, () -> ov.mknod("f", Linux.S_IFIFO | 0644, 0, Caller.ROOT));
        assertErrno(Errno.EINVAL, () -> ov.mknod("d", Linux.S_IFDIR | 0755, 0, Caller.ROOT));
        assertErrno(Errno.EINVAL, () -> ov.mknod("l", Linux.S_IFLNK | 0777, 0, Caller.ROOT));
        assertFalse(upper.exists("d"));
    }

    @Test
    void aCharacterDeviceZeroZeroCannotBeMadeThroughTheOverlay() throws Exception {
        // A 0/0 device is how whiteouts are written; the kernel overlay refuses mknod of one with EPERM.
        fx.l1().file("f", "x");
        fx.l1().dir("d");
        Overlay ov = fx.open();
        assertErrno(Errno.EPERM, () -> ov.mknod("g", Linux.S_IFCHR | 0600, 0, Caller.ROOT));
        assertErrno(Errno.EPERM, () -> ov.mknod("d/g", Linux.S_IFCHR, 0, Caller.ROOT));
        assertErrno(Errno.EEXIST, () -> ov.mknod("f", Linux.S_IFCHR, 0, Caller.ROOT));
        assertEquals(List.of(), upper.list(""), "nothing made, nothing copied up");
        assertTrue(exists(ov, "f"));
    }

    // ---- symlink / readlink ----

    @Test
    void symlinkAndReadlink() throws Exception {
        fx.l1().symlink("lower_ln", "some/where");
        fx.l1().file("f", "x");
        Overlay ov = fx.open();
        ov.symlink("../any thing", "ln", USER);
        Stat st = ov.getattr("ln");
        assertTrue(st.isSymlink());
        assertEquals(2000, st.uid());
        assertEquals(2001, st.gid());
        assertEquals("../any thing", ov.readlink("ln"));
        assertEquals("some/where", ov.readlink("lower_ln"));
        assertErrno(Errno.EINVAL, () -> ov.readlink("f"));
        assertErrno(Errno.ENOENT, () -> ov.readlink("missing"));
        assertErrno(Errno.EEXIST, () -> ov.symlink("x", "f", Caller.ROOT));
        assertErrno(Errno.EEXIST, () -> ov.symlink("x", "lower_ln", Caller.ROOT));
    }

    // ---- link ----

    @Test
    void linkOfALowerFileCopiesItUpAndBothNamesHaveTwoLinks() throws Exception {
        fx.l1().file("f", "content");
        Overlay ov = fx.open();
        ov.link("f", "f2");
        assertEquals(2, ov.getattr("f").nlink());
        assertEquals(2, ov.getattr("f2").nlink());
        assertEquals(ov.getattr("f").ino(), ov.getattr("f2").ino());
        assertEquals("content", read(ov, "f2"));
        ov.unlink("f2");
        assertEquals(1, ov.getattr("f").nlink());
        assertFalse(upper.exists("f2"), "f2 never existed below: no whiteout");
        assertScratchEmpty(fx);
    }

    @Test
    void linkIntoALowerOnlyDirectory() throws Exception {
        fx.l2().file("g", "g");
        fx.l1().dir("sub");
        Overlay ov = fx.open();
        ov.link("g", "sub/g2");
        assertEquals(upper.stat("g").ino(), upper.stat("sub/g2").ino());
        assertEquals(2, ov.getattr("sub/g2").nlink());
    }

    @Test
    void linkOverAWhiteoutReplacesIt() throws Exception {
        fx.l1().file("f", "f");
        fx.l1().file("old", "old");
        Overlay ov = fx.open();
        ov.unlink("old");
        ov.link("f", "old");
        assertEquals("f", read(ov, "old"));
        assertScratchEmpty(fx);
    }

    @Test
    void linkInsideALowerOnlyDirectoryCopiesTheDirectoryOnce() throws Exception {
        fx.l1().file("d/f", "f");
        fx.l1().at("d").mode(0701);
        Overlay ov = fx.open();
        ov.link("d/f", "d/g");
        assertEquals(upper.stat("d/f").ino(), upper.stat("d/g").ino());
        assertEquals(Linux.S_IFDIR | 0701, upper.stat("d").mode());
        assertEquals(List.of("f", "g"), names(ov, "d"));
        assertScratchEmpty(fx);
    }

    @Test
    void namesUpToNameMaxWork() throws Exception {
        String lower = "l".repeat(253);
        fx.l2().file(lower, "low");
        Overlay ov = fx.open();
        assertEquals("low", read(ov, lower), "a 253-byte name in a lower layer is found");
        for (int len = 251; len <= 255; len++) {
            String name = "n".repeat(len);
            create(ov, name, "x");
            assertEquals("x", read(ov, name));
        }
        ov.unlink(lower);
        assertFalse(exists(ov, lower));
        ov.mkdir("m".repeat(255), 0755, Caller.ROOT);
        assertErrno(Errno.ENAMETOOLONG, () -> create(ov, "n".repeat(256), "x"));
        assertErrno(Errno.ENAMETOOLONG, () -> ov.getattr("n".repeat(256)));
    }

    @Test
    void linkErrors() throws Exception {
        fx.l1().file("f", "x");
        fx.l1().file("g", "y");
        fx.l1().dir("d");
        Overlay ov = fx.open();
        assertErrno(Errno.EEXIST, () -> ov.link("f", "g"));
        assertErrno(Errno.EPERM, () -> ov.link("d", "d2"));
        assertErrno(Errno.ENOENT, () -> ov.link("missing", "m2"));
        assertErrno(Errno.ENOENT, () -> ov.link("f", "nodir/f"));
        assertEquals(List.of(), upper.list(""), "failed links copy nothing up");
    }
}
