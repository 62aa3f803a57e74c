package dev.layerfs.core.ops;

import static dev.layerfs.core.testing.FsAssert.assertDeviceWhiteout;
import static dev.layerfs.core.testing.FsAssert.assertErrno;
import static dev.layerfs.core.testing.FsAssert.assertScratchEmpty;
import static dev.layerfs.core.testing.OverlayIo.create;
import static dev.layerfs.core.testing.OverlayIo.exists;
import static dev.layerfs.core.testing.OverlayIo.names;
import static dev.layerfs.core.testing.OverlayIo.read;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.layerfs.core.Overlay;
import dev.layerfs.core.error.Errno;
import dev.layerfs.core.model.Caller;
import dev.layerfs.core.nativeio.Linux;
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

/** rename with 0, RENAME_NOREPLACE and RENAME_EXCHANGE, as the kernel does it with redirect_dir=off. */
@ExtendWith(LowerLayersUnchanged.class)
class RenameTest {
    @TempDir
    Path tmp;

    OverlayFixture fx;
    LayerTree upper;

    @BeforeEach
    void fixture() {
        fx = OverlayFixture.create(tmp);
        upper = fx.upper();
    }

    // ---- files ----

    @Test
    void aLowerFileMovesLeavingAWhiteout() throws Exception {
        fx.l1().file("f", "content").mode(0640);
        Overlay ov = fx.open();
        ov.rename("f", "g", 0);
        assertDeviceWhiteout(upper, "f");
        assertEquals(1, upper.stat("f").nlink(), "a whiteout of its own, made by RENAME_WHITEOUT");
        assertEquals("content", read(ov, "g"));
        assertEquals(Linux.S_IFREG | 0640, ov.getattr("g").mode());
        assertFalse(exists(ov, "f"));
        assertEquals(List.of("g"), names(ov, "/"));
        assertScratchEmpty(fx);
    }

    @Test
    void anUpperOnlyFileMovesWithoutAWhiteout() throws Exception {
        upper.file("u", "x");
        Overlay ov = fx.open();
        ov.rename("u", "v", 0);
        assertFalse(upper.exists("u"));
        assertEquals("x", read(ov, "v"));
    }

    @Test
    void aFileMovesIntoALowerOnlyDirectory() throws Exception {
        fx.l1().file("f", "x");
        fx.l2().dir("d").mode(0710).owner(4, 5);
        Overlay ov = fx.open();
        ov.rename("f", "d/f", 0);
        assertEquals(Linux.S_IFDIR | 0710, upper.stat("d").mode(), "the target directory was copied up");
        assertEquals("x", read(ov, "d/f"));
        assertDeviceWhiteout(upper, "f");
        assertScratchEmpty(fx);
    }

    @Test
    void aFileReplacesAnExistingFile() throws Exception {
        fx.l1().file("a", "A");
        fx.l2().file("b", "B");
        upper.file("c", "C");
        Overlay ov = fx.open();
        ov.rename("a", "b", 0);
        assertEquals("A", read(ov, "b"));
        assertDeviceWhiteout(upper, "a");
        ov.rename("b", "c", 0);
        assertEquals("A", read(ov, "c"));
        assertDeviceWhiteout(upper, "b");
        assertEquals(List.of("c"), names(ov, "/"));
        assertScratchEmpty(fx);
    }

    @Test
    void aPureUpperFileOntoAWhiteoutNameIsAPlainFile() throws Exception {
        fx.l1().file("x", "old");
        Overlay ov = fx.open();
        ov.unlink("x");
        create(ov, "y", "new");
        ov.rename("y", "x", 0);
        assertEquals("new", read(ov, "x"));
        assertTrue(upper.stat("x").isRegularFile());
        assertEquals(List.of(), upper.xattrNames("x"));
        assertFalse(upper.exists("y"), "y never existed below: no whiteout");
    }

    @Test
    void aFileOntoItselfChangesNothing() throws Exception {
        fx.l1().file("f", "x");
        fx.l1().dir("d");
        Overlay ov = fx.open();
        ov.rename("f", "f", 0);
        ov.rename("d", "d", 0);
        assertEquals(List.of(), upper.list(""), "no copy-up");
        assertEquals("x", read(ov, "f"));
    }

    @Test
    void twoNamesOfOneUpperFileChangeNothing() throws Exception {
        fx.l1().file("h", "y");
        Overlay ov = fx.open();
        ov.link("h", "i");
        ov.rename("h", "i", 0);
        assertEquals(List.of("h", "i"), names(ov, "/"), "upper hard links, one inode: both names stay");
        assertEquals(2, ov.getattr("h").nlink());
        assertErrno(Errno.EEXIST, () -> ov.rename("h", "i", Linux.RENAME_NOREPLACE));
    }

    @Test
    void twoNamesOfOneLowerFileAreTwoFilesAsForTheKernelOverlay() throws Exception {
        fx.l1().file("f", "x");
        java.nio.file.Files.createLink(fx.l1().path("g"), fx.l1().path("f"));
        Overlay ov = fx.open();
        ov.rename("f", "g", 0);
        assertEquals(List.of("g"), names(ov, "/"), "without index=on the kernel overlay renames: copy-up, whiteout");
        assertEquals("x", read(ov, "g"));
        assertEquals(1, ov.getattr("g").nlink());
        assertDeviceWhiteout(upper, "f");
    }

    @Test
    void noReplace() throws Exception {
        fx.l1().file("a", "A");
        fx.l1().file("b", "B");
        Overlay ov = fx.open();
        assertErrno(Errno.EEXIST, () -> ov.rename("a", "b", Linux.RENAME_NOREPLACE));
        assertEquals(List.of(), upper.list(""));
        ov.rename("a", "c", Linux.RENAME_NOREPLACE);
        assertEquals("A", read(ov, "c"));
        assertDeviceWhiteout(upper, "a");
    }

    @Test
    void exchangeSwapsTwoLowerFiles() throws Exception {
        fx.l1().file("a", "from l1");
        fx.l2().file("b", "from l2");
        Overlay ov = fx.open();
        ov.rename("a", "b", Linux.RENAME_EXCHANGE);
        assertEquals("from l2", read(ov, "a"));
        assertEquals("from l1", read(ov, "b"));
        assertEquals("from l2", upper.read("a"));
        assertEquals("from l1", upper.read("b"));
        assertScratchEmpty(fx);
    }

    @Test
    void exchangeOfAPureUpperDirectoryAndALowerFile() throws Exception {
        fx.l1().file("f", "file");
        Overlay ov = fx.open();
        ov.mkdir("d", 0755, Caller.ROOT);
        create(ov, "d/inside", "i");
        ov.rename("d", "f", Linux.RENAME_EXCHANGE);
        assertEquals("file", read(ov, "d"));
        assertEquals("i", read(ov, "f/inside"));
        assertTrue(upper.isOpaque("f"), "a directory moved into a merged directory becomes opaque");
    }

    @Test
    void exchangeOfTwoPureUpperDirectoriesMakesBothOpaqueInAMergedParent() throws Exception {
        Overlay ov = fx.open();
        ov.mkdir("a", 0755, Caller.ROOT);
        ov.mkdir("b", 0700, Caller.ROOT);
        ov.rename("a", "b", Linux.RENAME_EXCHANGE);
        assertEquals(Linux.S_IFDIR | 0700, ov.getattr("a").mode());
        assertTrue(upper.isOpaque("a"));
        assertTrue(upper.isOpaque("b"));
    }

    @Test
    void exchangeErrors() throws Exception {
        fx.l1().file("f", "x");
        fx.l1().dir("d");
        Overlay ov = fx.open();
        assertErrno(Errno.ENOENT, () -> ov.rename("f", "missing", Linux.RENAME_EXCHANGE));
        assertErrno(Errno.EXDEV, () -> ov.rename("f", "d", Linux.RENAME_EXCHANGE));
        assertErrno(Errno.EINVAL, () -> ov.rename("f", "d", Linux.RENAME_EXCHANGE | Linux.RENAME_NOREPLACE));
        assertEquals(List.of(), upper.list(""));
    }

    @ParameterizedTest
    @ValueSource(ints = {Linux.RENAME_WHITEOUT, 8, Linux.RENAME_WHITEOUT | Linux.RENAME_NOREPLACE})
    void unknownAndPrivateFlagsAreEinval(int flags) throws Exception {
        fx.l1().file("f", "x");
        Overlay ov = fx.open();
        assertErrno(Errno.EINVAL, () -> ov.rename("f", "g", flags));
        assertEquals(List.of(), upper.list(""));
        assertTrue(exists(ov, "f"));
    }

    @Test
    void renameToAWhName() throws Exception {
        fx.l1().file("foo", "x");
        Overlay ov = fx.open();
        assertErrno(Errno.EINVAL, () -> ov.rename("foo", ".wh.foo2", 0));
        assertErrno(Errno.EINVAL, () -> ov.rename("foo", ".wh..wh..opq", 0));
        assertTrue(exists(ov, "foo"));
    }

    @Test
    void fileErrors() throws Exception {
        fx.l1().file("f", "x");
        fx.l1().dir("emptydir");
        Overlay ov = fx.open();
        ov.mkdir("updir", 0755, Caller.ROOT);
        assertErrno(Errno.ENOENT, () -> ov.rename("missing", "x", 0));
        assertErrno(Errno.ENOENT, () -> ov.rename("f", "nodir/x", 0));
        assertErrno(Errno.ENOTDIR, () -> ov.rename("f", "f/x", 0));
        assertErrno(Errno.EISDIR, () -> ov.rename("f", "emptydir", 0));
        assertErrno(Errno.EISDIR, () -> ov.rename("f", "updir", 0));
        assertErrno(Errno.EBUSY, () -> ov.rename("/", "x", 0));
        assertFalse(upper.exists("f"));
    }

    // ---- directories ----

    @Test
    void aPureUpperDirectoryMovesAndBecomesOpaqueInAMergedParent() throws Exception {
        Overlay ov = fx.open();
        ov.mkdir("pu", 0755, Caller.ROOT);
        create(ov, "pu/f", "f");
        ov.rename("pu", "pu2", 0);
        assertFalse(upper.exists("pu"));
        assertTrue(upper.isOpaque("pu2"));
        assertEquals(List.of("f"), names(ov, "pu2"));
        assertScratchEmpty(fx);
    }

    @Test
    void aPureUpperDirectoryMovedInsideAPureUpperParentIsNotMadeOpaque() throws Exception {
        Overlay ov = fx.open();
        ov.mkdir("pp", 0755, Caller.ROOT);
        ov.mkdir("pp/a", 0755, Caller.ROOT);
        ov.mkdir("pp/c", 0755, Caller.ROOT);
        ov.rename("pp/a", "pp/b", 0);
        ov.rename("pp/c", "pp/b/c", 0);
        assertNull(upper.xattr("pp/b", "trusted.overlay.opaque"));
        assertNull(upper.xattr("pp/b/c", "trusted.overlay.opaque"));
        assertEquals(List.of("c"), names(ov, "pp/b"));
    }

    @Test
    void aDirectoryMovedOntoAWhiteoutNameIsOpaqueAndKeepsItsContent() throws Exception {
        fx.l1().file("x", "old file");
        fx.l1().file("y/inside", "old dir content");
        Overlay ov = fx.open();
        ov.unlink("x");
        ov.unlink("y/inside");
        ov.rmdir("y");
        ov.mkdir("newdir", 0755, Caller.ROOT);
        create(ov, "newdir/kept", "k");
        ov.mkdir("newdir2", 0755, Caller.ROOT);
        ov.rename("newdir", "x", 0);
        ov.rename("newdir2", "y", 0);
        assertTrue(upper.stat("x").isDirectory());
        assertTrue(upper.isOpaque("x"));
        assertEquals(List.of("kept"), names(ov, "x"));
        assertTrue(upper.isOpaque("y"));
        assertEquals(List.of(), names(ov, "y"), "l1's y/inside stays hidden");
        assertFalse(exists(ov, "newdir"));
        assertScratchEmpty(fx);
    }

    @Test
    void aDirectoryWithLowerContentIsExdev() throws Exception {
        fx.l1().file("low/f", "x");
        fx.l1().dir("emptylow");
        fx.l1().file("merged/a", "a");
        upper.file("merged/b", "b");
        Overlay ov = fx.open();
        ov.mkdir("pure", 0755, Caller.ROOT);
        assertErrno(Errno.EXDEV, () -> ov.rename("low", "low2", 0));
        assertErrno(Errno.EXDEV, () -> ov.rename("emptylow", "e2", 0));
        assertErrno(Errno.EXDEV, () -> ov.rename("emptylow", "e2", Linux.RENAME_NOREPLACE));
        assertErrno(Errno.EXDEV, () -> ov.rename("low", "pure/low", 0));
        assertErrno(Errno.EXDEV, () -> ov.rename("merged", "m2", 0));
        ov.unlink("merged/a");
        assertErrno(Errno.EXDEV, () -> ov.rename("merged", "m2", 0), "even with every lower entry deleted");
        assertTrue(exists(ov, "low/f"));
        assertTrue(exists(ov, "emptylow"));
        assertFalse(upper.exists("low"));
    }

    @Test
    void aLowerDirectoryOverAnyDirectoryIsExdev() throws Exception {
        fx.l1().file("low/y", "y");
        fx.l1().dir("other");
        fx.l1().file("full/x", "x");
        Overlay ov = fx.open();
        ov.mkdir("up", 0755, Caller.ROOT);
        ov.mkdir("upfull", 0755, Caller.ROOT);
        create(ov, "upfull/z", "z");
        assertErrno(Errno.EXDEV, () -> ov.rename("low", "other", 0));
        assertErrno(Errno.EXDEV, () -> ov.rename("low", "up", 0));
        assertErrno(Errno.EXDEV, () -> ov.rename("low", "full", 0), "EXDEV comes before ENOTEMPTY");
        assertErrno(Errno.EXDEV, () -> ov.rename("low", "upfull", 0), "EXDEV comes before ENOTEMPTY");
        assertErrno(Errno.EEXIST, () -> ov.rename("low", "full", Linux.RENAME_NOREPLACE), "EEXIST first");
    }

    @Test
    void aDirectoryIntoItselfIsEinval() throws Exception {
        fx.l1().dir("low/sub");
        Overlay ov = fx.open();
        ov.mkdir("a", 0755, Caller.ROOT);
        ov.mkdir("a/sub", 0755, Caller.ROOT);
        assertErrno(Errno.EINVAL, () -> ov.rename("a", "a/sub/a", 0));
        assertErrno(Errno.EINVAL, () -> ov.rename("a", "a/x", 0));
        assertErrno(Errno.EINVAL, () -> ov.rename("low", "low/sub/x", 0));
        assertErrno(Errno.EINVAL, () -> ov.rename("a/sub", "a", Linux.RENAME_EXCHANGE));
        assertTrue(exists(ov, "a/sub"));
    }

    @Test
    void aDirectoryOverAFileIsEnotdir() throws Exception {
        fx.l1().file("f", "x");
        Overlay ov = fx.open();
        ov.mkdir("d", 0755, Caller.ROOT);
        create(ov, "g", "g");
        assertErrno(Errno.ENOTDIR, () -> ov.rename("d", "f", 0));
        assertErrno(Errno.ENOTDIR, () -> ov.rename("d", "g", 0));
    }

    @Test
    void aDirectoryOverANonEmptyDirectoryIsEnotempty() throws Exception {
        fx.l1().file("full/x", "x");
        Overlay ov = fx.open();
        ov.mkdir("d", 0755, Caller.ROOT);
        ov.mkdir("upfull", 0755, Caller.ROOT);
        create(ov, "upfull/y", "y");
        assertErrno(Errno.ENOTEMPTY, () -> ov.rename("d", "full", 0));
        assertErrno(Errno.ENOTEMPTY, () -> ov.rename("d", "upfull", 0));
        assertNull(upper.xattr("d", "trusted.overlay.opaque"));
    }

    @Test
    void aPureUpperDirectoryOntoAnEmptyPureUpperDirectory() throws Exception {
        Overlay ov = fx.open();
        ov.mkdir("a", 0700, Caller.ROOT);
        create(ov, "a/f", "f");
        ov.mkdir("b", 0755, Caller.ROOT);
        ov.rename("a", "b", 0);
        assertEquals(Linux.S_IFDIR | 0700, ov.getattr("b").mode());
        assertEquals(List.of("f"), names(ov, "b"));
        assertTrue(upper.isOpaque("b"));
        assertFalse(exists(ov, "a"));
        assertScratchEmpty(fx);
    }

    @Test
    void aPureUpperDirectoryOntoAnEmptyLowerOnlyDirectory() throws Exception {
        fx.l1().dir("b");
        Overlay ov = fx.open();
        ov.mkdir("a", 0755, Caller.ROOT);
        create(ov, "a/f", "f");
        ov.rename("a", "b", 0);
        assertTrue(upper.isOpaque("b"));
        assertEquals(List.of("f"), names(ov, "b"));
        assertFalse(exists(ov, "a"));
    }

    @Test
    void aPureUpperDirectoryOntoAnEmptiedMergedDirectory() throws Exception {
        fx.l1().file("b/x", "x");
        fx.l2().file("b/y", "y");
        upper.file("b/z", "z");
        Overlay ov = fx.open();
        ov.unlink("b/x");
        ov.unlink("b/y");
        ov.unlink("b/z");
        ov.mkdir("a", 0755, Caller.ROOT);
        create(ov, "a/f", "f");
        ov.rename("a", "b", 0);
        assertTrue(upper.isOpaque("b"));
        assertEquals(List.of("f"), upper.list("b"), "the whiteouts went with the old upper directory");
        assertEquals(List.of("f"), names(ov, "b"));
        assertScratchEmpty(fx);
    }

    @Test
    void anOpaqueUpperDirectoryOverALowerOneMovesLeavingAWhiteout() throws Exception {
        upper.opaqueDir("d", LayerTree.Opaque.TRUSTED);
        upper.file("d/mine", "m");
        fx.l1().file("d/hidden", "h");
        Overlay ov = fx.open();
        ov.rename("d", "e", 0);
        assertDeviceWhiteout(upper, "d");
        assertFalse(exists(ov, "d"));
        assertEquals(List.of("mine"), names(ov, "e"));
    }
}
