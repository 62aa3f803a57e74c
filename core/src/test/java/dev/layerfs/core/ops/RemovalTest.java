package dev.layerfs.core.ops;

import static dev.layerfs.core.testing.FsAssert.assertDeviceWhiteout;
import static dev.layerfs.core.testing.FsAssert.assertErrno;
import static dev.layerfs.core.testing.FsAssert.assertScratchEmpty;
import static dev.layerfs.core.testing.OverlayIo.create;
import static dev.layerfs.core.testing.OverlayIo.exists;
import static dev.layerfs.core.testing.OverlayIo.names;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.layerfs.core.Overlay;
import dev.layerfs.core.error.Errno;
import dev.layerfs.core.model.Caller;
import dev.layerfs.core.testing.LayerTree;
import dev.layerfs.core.testing.LayerTree.Opaque;
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

/** unlink and rmdir: whiteouts where a lower layer has the name, none otherwise; emptiness on the merged view. */
@ExtendWith(LowerLayersUnchanged.class)
class RemovalTest {
    @TempDir
    Path tmp;

    OverlayFixture fx;
    LayerTree upper;

    @BeforeEach
    void fixture() {
        fx = OverlayFixture.create(tmp);
        upper = fx.upper();
    }

    // ---- unlink ----

    @Test
    void unlinkOfALowerFileLeavesADeviceWhiteout() throws Exception {
        fx.l2().file("f", "x");
        Overlay ov = fx.open();
        ov.unlink("f");
        assertDeviceWhiteout(upper, "f");
        assertEquals(0, upper.stat("f").uid());
        assertEquals(0, upper.stat("f").size());
        assertErrno(Errno.ENOENT, () -> ov.getattr("f"));
        assertEquals(List.of(), names(ov, "/"));
        assertScratchEmpty(fx);
    }

    @Test
    void oneWhiteoutHidesTheNameInEveryLowerLayer() throws Exception {
        fx.l1().file("d/f", "1");
        fx.l2().file("d/f", "2");
        Overlay ov = fx.open();
        ov.unlink("d/f");
        assertDeviceWhiteout(upper, "d/f");
        assertFalse(exists(ov, "d/f"));
        assertEquals(List.of(), names(ov, "d"));
    }

    @ParameterizedTest
    @ValueSource(strings = {"symlink", "fifo", "device", "socket"})
    void unlinkOfOtherLowerTypesLeavesAWhiteout(String type) throws Exception {
        switch (type) {
            case "symlink" -> fx.l1().symlink("x", "target");
            case "fifo" -> fx.l1().fifo("x");
            case "device" -> fx.l1().charDevice("x", 1, 3);
            default -> fx.l1().socket("x");
        }
        Overlay ov = fx.open();
        ov.unlink("x");
        assertDeviceWhiteout(upper, "x");
        assertFalse(exists(ov, "x"));
    }

    @Test
    void unlinkOfAnUpperOnlyFileLeavesNothing() throws Exception {
        upper.file("u", "x");
        Overlay ov = fx.open();
        ov.unlink("u");
        assertFalse(upper.exists("u"));
        assertFalse(exists(ov, "u"));
    }

    @Test
    void unlinkOfAFileCreatedInALowerOnlyDirectoryLeavesNothing() throws Exception {
        fx.l1().file("d/keep", "k");
        Overlay ov = fx.open();
        create(ov, "d/new", "n");
        ov.unlink("d/new");
        assertEquals(List.of(), upper.list("d"));
        assertEquals(List.of("keep"), names(ov, "d"));
    }

    @Test
    void unlinkOfACopiedUpFileLeavesAWhiteout() throws Exception {
        fx.l1().file("f", "x");
        Overlay ov = fx.open();
        ov.chmod("f", 0600);
        ov.unlink("f");
        assertDeviceWhiteout(upper, "f");
        assertFalse(exists(ov, "f"));
        assertScratchEmpty(fx);
    }

    @Test
    void unlinkOfAnUpperFileOverALowerWhiteoutLeavesNothing() throws Exception {
        upper.file("f", "new");
        fx.l1().whiteout("f");
        fx.l2().file("f", "hidden");
        Overlay ov = fx.open();
        ov.unlink("f");
        assertFalse(upper.exists("f"), "l1's whiteout still hides l2's file");
        assertFalse(exists(ov, "f"));
    }

    @Test
    void unlinkErrors() throws Exception {
        fx.l1().dir("d");
        fx.l1().file("f", "x");
        fx.l1().whiteout("gone");
        Overlay ov = fx.open();
        assertErrno(Errno.EISDIR, () -> ov.unlink("d"));
        assertErrno(Errno.ENOENT, () -> ov.unlink("missing"));
        assertErrno(Errno.ENOENT, () -> ov.unlink("gone"));
        assertErrno(Errno.ENOTDIR, () -> ov.unlink("f/x"));
        assertErrno(Errno.EISDIR, () -> ov.unlink("/"));
        assertEquals(List.of(), upper.list(""));
    }

    // ---- rmdir ----

    @Test
    void rmdirOfAnEmptyLowerDirectoryLeavesAWhiteout() throws Exception {
        fx.l1().dir("d");
        Overlay ov = fx.open();
        ov.rmdir("d");
        assertDeviceWhiteout(upper, "d");
        assertFalse(exists(ov, "d"));
        assertScratchEmpty(fx);
    }

    @Test
    void rmdirJudgesEmptinessOnTheMergedView() throws Exception {
        fx.l1().dir("d");
        fx.l2().file("d/below", "x");
        Overlay ov = fx.open();
        assertErrno(Errno.ENOTEMPTY, () -> ov.rmdir("d"));
        ov.unlink("d/below");
        ov.rmdir("d");
        assertDeviceWhiteout(upper, "d");
        assertFalse(exists(ov, "d"));
        assertScratchEmpty(fx);
    }

    @Test
    void rmdirOfAMergedDirectoryHoldingOnlyWhiteoutsReplacesItWithOneWhiteout() throws Exception {
        fx.l1().file("d/a", "a");
        fx.l2().file("d/b", "b");
        fx.l2().dir("d/sub");
        Overlay ov = fx.open();
        ov.unlink("d/a");
        ov.unlink("d/b");
        ov.rmdir("d/sub");
        assertEquals(List.of("a", "b", "sub"), upper.list("d"), "the upper copy holds three whiteouts");
        ov.rmdir("d");
        assertDeviceWhiteout(upper, "d");
        assertFalse(exists(ov, "d"));
        assertScratchEmpty(fx);
    }

    @Test
    void rmdirOfAPureUpperDirectoryLeavesNothing() throws Exception {
        Overlay ov = fx.open();
        ov.mkdir("u", 0755, Caller.ROOT);
        create(ov, "u/f", "x");
        assertErrno(Errno.ENOTEMPTY, () -> ov.rmdir("u"));
        ov.unlink("u/f");
        ov.rmdir("u");
        assertFalse(upper.exists("u"));
        assertScratchEmpty(fx);
    }

    @Test
    void rmdirOfAPureUpperDirectoryHoldingAStaleWhiteout() throws Exception {
        // The kernel says ENOTEMPTY here; layerfs never lists a whiteout in a directory that does not merge,
        // so such a directory is empty and can go.
        upper.whiteout("u/stale");
        Overlay ov = fx.open();
        assertEquals(List.of(), ov.readdir("u"));
        ov.rmdir("u");
        assertFalse(upper.exists("u"));
        assertScratchEmpty(fx);
    }

    @ParameterizedTest
    @ValueSource(strings = {"TRUSTED", "AUFS"})
    void rmdirOfAnOpaqueUpperDirectoryOverALowerOneLeavesAWhiteout(String how) throws Exception {
        upper.opaqueDir("d", Opaque.valueOf(how));
        fx.l1().file("d/hidden", "h");
        Overlay ov = fx.open();
        assertEquals(List.of(), ov.readdir("d"));
        ov.rmdir("d");
        assertDeviceWhiteout(upper, "d");
        assertFalse(exists(ov, "d"));
        assertScratchEmpty(fx);
    }

    @Test
    void rmdirOfADirectoryInsideALowerOnlyParent() throws Exception {
        fx.l1().dir("p/d");
        fx.l1().file("p/keep", "k");
        Overlay ov = fx.open();
        ov.rmdir("p/d");
        assertDeviceWhiteout(upper, "p/d");
        assertEquals(List.of("keep"), names(ov, "p"));
    }

    @Test
    void rmdirErrors() throws Exception {
        fx.l1().file("f", "x");
        fx.l1().symlink("ln", "d");
        fx.l1().dir("d");
        Overlay ov = fx.open();
        assertErrno(Errno.ENOTDIR, () -> ov.rmdir("f"));
        assertErrno(Errno.ENOTDIR, () -> ov.rmdir("ln"));
        assertErrno(Errno.ENOENT, () -> ov.rmdir("missing"));
        assertErrno(Errno.EBUSY, () -> ov.rmdir("/"));
        assertEquals(List.of(), upper.list(""));
    }
}
