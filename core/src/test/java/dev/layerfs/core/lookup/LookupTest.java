package dev.layerfs.core.lookup;

import static dev.layerfs.core.testing.FsAssert.assertErrno;
import static dev.layerfs.core.testing.FsAssert.assertSameTime;
import static dev.layerfs.core.testing.OverlayIo.exists;
import static dev.layerfs.core.testing.OverlayIo.names;
import static dev.layerfs.core.testing.OverlayIo.read;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.layerfs.core.Overlay;
import dev.layerfs.core.handle.OpenFile;
import dev.layerfs.core.model.Caller;
import dev.layerfs.core.error.Errno;
import dev.layerfs.core.nativeio.Linux;
import dev.layerfs.core.nativeio.Stat;
import dev.layerfs.core.nativeio.Timespec;
import dev.layerfs.core.testing.LayerTree;
import dev.layerfs.core.testing.LayerTree.Opaque;
import dev.layerfs.core.testing.LayerTree.XattrWhiteout;
import dev.layerfs.core.testing.LowerLayersUnchanged;
import dev.layerfs.core.testing.OverlayFixture;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** The lookup rules of overlayfs.rst, through getattr, open and readdir of the merged view. */
@ExtendWith(LowerLayersUnchanged.class)
class LookupTest {
    @TempDir
    Path tmp;

    OverlayFixture fx;

    @BeforeEach
    void fixture() {
        fx = OverlayFixture.create(tmp, 3);
    }

    // ---- non-directories ----

    @Test
    void topmostLowerNonDirectoryWins() throws Exception {
        fx.l1().file("f", "one");
        fx.l2().file("f", "two-two");
        fx.l3().file("f", "three");
        Overlay ov = fx.open();
        assertEquals("one", read(ov, "/f"));
        assertEquals(3, ov.getattr("/f").size());
    }

    @Test
    void upperNonDirectoryWinsOverLowers() throws Exception {
        fx.upper().file("f", "upper");
        fx.l1().file("f", "one");
        Overlay ov = fx.open();
        assertEquals("upper", read(ov, "/f"));
    }

    @Test
    void aNameOnlyInTheBottomLayerIsFound() throws Exception {
        fx.l3().file("deep/down/f", "bottom");
        Overlay ov = fx.open();
        assertEquals("bottom", read(ov, "deep/down/f"));
    }

    @Test
    void statShowsTheTopmostObjectsAttributes() throws Exception {
        fx.l1().file("f", "abc").mode(0640).owner(1001, 1002).mtime(1_300_000_000L, 222_222_222);
        fx.l2().file("f", "longer content").mode(0777);
        Overlay ov = fx.open();
        Stat st = ov.getattr("f");
        Stat real = fx.l1().stat("f");
        assertEquals(Linux.S_IFREG | 0640, st.mode());
        assertEquals(1001, st.uid());
        assertEquals(1002, st.gid());
        assertEquals(3, st.size());
        assertEquals(1, st.nlink());
        assertSameTime(new Timespec(1_300_000_000L, 222_222_222), st.mtime(), "mtime");
        assertEquals(real.ino(), st.ino(), "the inode number is the topmost real object's");
    }

    @Test
    void missingNameIsEnoent() throws Exception {
        fx.l1().dir("d");
        Overlay ov = fx.open();
        assertErrno(Errno.ENOENT, () -> ov.getattr("nothing"));
        assertErrno(Errno.ENOENT, () -> ov.getattr("d/nothing"));
        assertErrno(Errno.ENOENT, () -> ov.getattr("nothing/below"));
    }

    /** A miss is kept for the create that follows it, and no longer than the next change of the layers. */
    @Test
    void aMissLastsUntilTheNextChange() throws Exception {
        fx.l1().dir("d");
        fx.upper().file("d/src", "moved");
        Overlay ov = fx.open();
        assertErrno(Errno.ENOENT, () -> ov.getattr("d/new"));
        ov.release(ov.open("d/new", Linux.O_CREAT | Linux.O_EXCL | Linux.O_WRONLY, 0640,
                Caller.ROOT));
        assertEquals(Linux.S_IFREG | 0640, ov.getattr("d/new").mode());
        assertErrno(Errno.EEXIST, () -> ov.open("d/new", Linux.O_CREAT | Linux.O_EXCL | Linux.O_WRONLY, 0640,
                Caller.ROOT));
        assertErrno(Errno.ENOENT, () -> ov.getattr("d/moved"));
        ov.rename("d/src", "d/moved", 0);
        assertEquals("moved", read(ov, "d/moved"));
        assertErrno(Errno.ENOENT, () -> ov.getattr("d/dir"));
        ov.mkdir("d/dir", 0755, Caller.ROOT);
        assertTrue(ov.getattr("d/dir").isDirectory());
    }

    @Test
    void aPathThroughAFileIsEnotdir() throws Exception {
        fx.l1().file("f", "x");
        Overlay ov = fx.open();
        assertErrno(Errno.ENOTDIR, () -> ov.getattr("f/below"));
    }

    // ---- directories ----

    @Test
    void directoriesOfTheSameNameMerge() throws Exception {
        fx.upper().file("d/u", "u");
        fx.l1().file("d/a", "a");
        fx.l2().file("d/b", "b");
        fx.l3().file("d/sub/c", "c");
        Overlay ov = fx.open();
        assertEquals(List.of("a", "b", "sub", "u"), names(ov, "d"));
        assertEquals("a", read(ov, "d/a"));
        assertEquals("b", read(ov, "d/b"));
        assertEquals("c", read(ov, "d/sub/c"));
        assertEquals("u", read(ov, "d/u"));
    }

    @Test
    void aMergedDirectoryHasOneLinkAndTheTopmostAttributes() throws Exception {
        fx.l1().dir("d/x");
        fx.l1().dir("d/y");
        fx.l1().dir("d").mode(0751).owner(1001, 1002);
        fx.l2().dir("d/z");
        fx.l2().dir("only2/a");
        fx.l2().dir("only2/b");
        Overlay ov = fx.open();
        Stat merged = ov.getattr("d");
        assertEquals(1, merged.nlink(), "merged directories report nlink 1");
        assertEquals(Linux.S_IFDIR | 0751, merged.mode());
        assertEquals(1001, merged.uid());
        assertEquals(fx.l1().stat("d").ino(), merged.ino());
        assertEquals(4, ov.getattr("only2").nlink(), "a directory of one layer reports its real nlink");
        assertEquals(1, ov.getattr("/").nlink(), "the root merges every layer");
        assertEquals(fx.upper().stat("").ino(), ov.getattr("/").ino(), "the root is the upper root");
    }

    @ParameterizedTest
    @EnumSource(Opaque.class)
    void anOpaqueLowerDirectoryStopsMerging(Opaque how) throws Exception {
        fx.l1().opaqueDir("d", how);
        fx.l1().file("d/top", "t");
        fx.l2().file("d/hidden", "h");
        fx.l3().file("d/hidden3", "h");
        Overlay ov = fx.open();
        assertEquals(List.of("top"), names(ov, "d"));
        assertErrno(Errno.ENOENT, () -> ov.getattr("d/hidden"));
        assertErrno(Errno.ENOENT, () -> ov.getattr("d/hidden3"));
        assertEquals("t", read(ov, "d/top"));
    }

    @ParameterizedTest
    @EnumSource(Opaque.class)
    void anOpaqueUpperDirectoryHidesEveryLower(Opaque how) throws Exception {
        fx.upper().opaqueDir("d", how);
        fx.upper().file("d/mine", "m");
        fx.l1().file("d/lower", "l");
        Overlay ov = fx.open();
        assertEquals(List.of("mine"), names(ov, "d"));
        assertErrno(Errno.ENOENT, () -> ov.getattr("d/lower"));
        assertEquals(2, ov.getattr("d").nlink(), "an opaque directory does not merge: real nlink");
    }

    @Test
    void anOpaqueValueOtherThanYDoesNotHide() throws Exception {
        fx.l1().dir("d").xattr("trusted.overlay.opaque", "n");
        fx.l2().file("d/low", "l");
        Overlay ov = fx.open();
        assertEquals("l", read(ov, "d/low"));
    }

    @Test
    void opacityOnlyCutsBelowTheMarkedLayer() throws Exception {
        fx.l1().file("d/a", "a");
        fx.l2().opaqueDir("d", Opaque.TRUSTED);
        fx.l2().file("d/b", "b");
        fx.l3().file("d/c", "c");
        Overlay ov = fx.open();
        assertEquals(List.of("a", "b"), names(ov, "d"));
    }

    @Test
    void opaqueMarkersOnALayerRootAreIgnored() throws Exception {
        fx.l1().at("").xattr("trusted.overlay.opaque", "y");
        fx.l1().emptyFile(".wh..wh..opq");
        fx.l1().file("one", "1");
        fx.l2().file("two", "2");
        upper(fx).at("").xattr("trusted.overlay.opaque", "y");
        Overlay ov = fx.open();
        assertEquals(List.of("one", "two"), names(ov, "/"));
        assertEquals("2", read(ov, "two"));
    }

    private static LayerTree upper(OverlayFixture fx) {
        return fx.upper();
    }

    // ---- whiteouts ----

    @Test
    void aDeviceWhiteoutStopsTheSearch() throws Exception {
        fx.l1().whiteout("f");
        fx.l2().file("f", "hidden");
        fx.l1().whiteout("d");
        fx.l2().file("d/x", "hidden");
        Overlay ov = fx.open();
        assertErrno(Errno.ENOENT, () -> ov.getattr("f"));
        assertErrno(Errno.ENOENT, () -> ov.getattr("d"));
        assertErrno(Errno.ENOENT, () -> ov.getattr("d/x"));
    }

    @Test
    void anUpperDeviceWhiteoutHidesEveryLower() throws Exception {
        fx.upper().whiteout("f");
        fx.l1().file("f", "1");
        fx.l2().file("f", "2");
        Overlay ov = fx.open();
        assertErrno(Errno.ENOENT, () -> ov.getattr("f"));
    }

    @Test
    void aWhiteoutOnlyHidesWhatIsBelowIt() throws Exception {
        fx.upper().file("f", "upper");
        fx.l1().whiteout("f");
        fx.l2().file("f", "hidden");
        Overlay ov = fx.open();
        assertEquals("upper", read(ov, "f"));
    }

    @Test
    void aCharacterDeviceOtherThanZeroZeroIsAFile() throws Exception {
        fx.l1().charDevice("null", 1, 3);
        fx.l2().file("null", "hidden");
        Overlay ov = fx.open();
        Stat st = ov.getattr("null");
        assertTrue(st.isCharDevice());
        assertEquals(LayerTree.makedev(1, 3), st.rdev());
    }

    @Test
    void anAufsWhiteoutFileStopsTheSearch() throws Exception {
        fx.l1().aufsWhiteout("f");
        fx.l2().file("f", "hidden");
        fx.l1().aufsWhiteout("sub/d");
        fx.l2().file("sub/d/x", "hidden");
        Overlay ov = fx.open();
        assertErrno(Errno.ENOENT, () -> ov.getattr("f"));
        assertErrno(Errno.ENOENT, () -> ov.getattr("sub/d"));
        assertEquals(List.of(), names(ov, "sub"));
    }

    @Test
    void anAufsWhiteoutInTheUpperLayerHidesLowers() throws Exception {
        fx.upper().aufsWhiteout("f");
        fx.l1().file("f", "hidden");
        Overlay ov = fx.open();
        assertErrno(Errno.ENOENT, () -> ov.getattr("f"));
    }

    @Test
    void namesBeginningWithWhAreNeverFound() throws Exception {
        fx.l1().emptyFile(".wh.lonely");
        fx.l1().file("d/.wh..wh..opq", "");
        fx.upper().file(".wh.up", "x");
        Overlay ov = fx.open();
        assertErrno(Errno.ENOENT, () -> ov.getattr(".wh.lonely"));
        assertErrno(Errno.ENOENT, () -> ov.getattr("lonely"));
        assertErrno(Errno.ENOENT, () -> ov.getattr("d/.wh..wh..opq"));
        assertErrno(Errno.ENOENT, () -> ov.getattr(".wh.up"));
        assertErrno(Errno.ENOENT, () -> ov.open(".wh.lonely", Linux.O_RDONLY));
    }

    @ParameterizedTest
    @EnumSource(XattrWhiteout.class)
    void anXattrWhiteoutInAnXDirectoryStopsTheSearch(XattrWhiteout how) throws Exception {
        fx.l1().xattrWhiteoutDir("d", how);
        fx.l1().xattrWhiteout("d/foo", how);
        fx.l2().file("d/foo", "hidden");
        fx.l2().file("d/other", "other");
        Overlay ov = fx.open();
        assertErrno(Errno.ENOENT, () -> ov.getattr("d/foo"));
        assertEquals("other", read(ov, "d/other"), "opaque=x does not make the directory opaque");
        assertEquals(1, ov.getattr("d").nlink());
    }

    @ParameterizedTest
    @EnumSource(XattrWhiteout.class)
    void anXattrMarkedFileInAnUnmarkedDirectoryIsAnOrdinaryFile(XattrWhiteout how) throws Exception {
        fx.l1().dir("d");
        fx.l1().xattrWhiteout("d/foo", how);
        fx.l2().file("d/foo", "below");
        Overlay ov = fx.open();
        Stat st = ov.getattr("d/foo");
        assertTrue(st.isRegularFile());
        assertEquals(0, st.size());
        assertEquals("", read(ov, "d/foo"));
    }

    @Test
    void anXattrMarkedFileWithContentIsNotAWhiteout() throws Exception {
        fx.l1().xattrWhiteoutDir("d", XattrWhiteout.TRUSTED);
        fx.l1().file("d/foo", "zzz").xattr("trusted.overlay.whiteout", "y");
        fx.l2().file("d/foo", "below");
        Overlay ov = fx.open();
        assertEquals("zzz", read(ov, "d/foo"));
    }

    @Test
    void anXattrWhiteoutWithTheOtherDialectsDirectoryMarkStillCounts() throws Exception {
        fx.l1().xattrWhiteoutDir("d", XattrWhiteout.USER);
        fx.l1().xattrWhiteout("d/foo", XattrWhiteout.TRUSTED);
        fx.l2().file("d/foo", "hidden");
        Overlay ov = fx.open();
        assertErrno(Errno.ENOENT, () -> ov.getattr("d/foo"));
    }

    // ---- directories and non-directories ----

    @Test
    void aNonDirectoryAboveHidesADirectoryBelow() throws Exception {
        fx.l1().file("d", "file");
        fx.l2().file("d/x", "hidden");
        Overlay ov = fx.open();
        assertTrue(ov.getattr("d").isRegularFile());
        assertEquals("file", read(ov, "d"));
        assertErrno(Errno.ENOTDIR, () -> ov.getattr("d/x"));
        assertErrno(Errno.ENOTDIR, () -> ov.readdir("d"));
    }

    @Test
    void aNonDirectoryInTheMiddleCutsTheMerge() throws Exception {
        fx.l1().file("d/a", "a");
        fx.l2().symlink("d", "/tmp");
        fx.l3().file("d/c", "c");
        Overlay ov = fx.open();
        assertEquals(List.of("a"), names(ov, "d"));
        assertFalse(exists(ov, "d/c"));
        assertEquals(2, ov.getattr("d").nlink(), "only l1's directory makes d");
    }

    @Test
    void aDirectoryAboveHidesANonDirectoryBelow() throws Exception {
        fx.l1().file("d/a", "a");
        fx.l2().file("d", "a file");
        Overlay ov = fx.open();
        assertTrue(ov.getattr("d").isDirectory());
        assertEquals(List.of("a"), names(ov, "d"));
    }

    @Test
    void anUpperFileHidesALowerDirectory() throws Exception {
        fx.upper().file("d", "file");
        fx.l1().file("d/x", "hidden");
        Overlay ov = fx.open();
        assertTrue(ov.getattr("d").isRegularFile());
        assertErrno(Errno.ENOTDIR, () -> ov.getattr("d/x"));
    }

    // ---- what was looked up before a change is not trusted after it ----

    @Test
    void aChildLookedUpBeforeItsParentWasCopiedUpIsGoneAfterUnlink() throws Exception {
        fx.l1().file("d/a", "a");
        fx.l1().file("d/b", "b");
        Overlay ov = fx.open();
        ov.getattr("d/a");
        ov.getattr("d/b");
        ov.unlink("d/a");
        assertErrno(Errno.ENOENT, () -> ov.getattr("d/a"));
        assertEquals("b", read(ov, "d/b"));
        dev.layerfs.core.testing.OverlayIo.create(ov, "d/c", "c");
        assertEquals("c", read(ov, "d/c"));
    }

    @Test
    void deepLookupsFollowACopyUpOfEveryDirectoryAbove() throws Exception {
        fx.l1().file("a/b/c/f", "f");
        fx.l2().file("a/b/c/g", "g");
        Overlay ov = fx.open();
        ov.getattr("a/b/c/f");
        ov.chmod("a/b/c/f", 0600);
        ov.unlink("a/b/c/g");
        assertErrno(Errno.ENOENT, () -> ov.getattr("a/b/c/g"));
        assertEquals(Linux.S_IFREG | 0600, ov.getattr("a/b/c/f").mode());
    }

    @Test
    void aMovedDirectoryIsFoundOnlyUnderItsNewName() throws Exception {
        Overlay ov = fx.open();
        ov.mkdir("u", 0755, Caller.ROOT);
        ov.mkdir("u/sub", 0755, Caller.ROOT);
        dev.layerfs.core.testing.OverlayIo.create(ov, "u/sub/f", "f");
        ov.getattr("u/sub/f");
        ov.rename("u", "v", 0);
        assertErrno(Errno.ENOENT, () -> ov.getattr("u/sub/f"));
        assertEquals("f", read(ov, "v/sub/f"));
    }

    @Test
    void exchangedDirectoriesSwapTheirContentForLookups() throws Exception {
        Overlay ov = fx.open();
        ov.mkdir("x", 0755, Caller.ROOT);
        ov.mkdir("y", 0755, Caller.ROOT);
        dev.layerfs.core.testing.OverlayIo.create(ov, "x/in_x", "x");
        dev.layerfs.core.testing.OverlayIo.create(ov, "y/in_y", "y");
        ov.getattr("x/in_x");
        ov.getattr("y/in_y");
        ov.rename("x", "y", Linux.RENAME_EXCHANGE);
        assertEquals("x", read(ov, "y/in_x"));
        assertEquals("y", read(ov, "x/in_y"));
        assertErrno(Errno.ENOENT, () -> ov.getattr("x/in_x"));
    }

    @Test
    void aDirectoryRemovedAndMadeAgainHidesWhatWasBelow() throws Exception {
        fx.l1().file("p/d/old", "old");
        Overlay ov = fx.open();
        ov.getattr("p/d/old");
        ov.unlink("p/d/old");
        ov.rmdir("p/d");
        ov.mkdir("p/d", 0755, Caller.ROOT);
        assertErrno(Errno.ENOENT, () -> ov.getattr("p/d/old"));
        assertEquals(List.of(), names(ov, "p/d"));
    }

    // ---- other ----

    @Test
    void pathsMayBeAbsoluteOrRelativeButNeverDotted() throws Exception {
        fx.l1().file("a/b", "x");
        Overlay ov = fx.open();
        assertEquals(ov.getattr("a/b"), ov.getattr("/a/b"));
        assertEquals(ov.getattr("a/b"), ov.getattr("/a/b/"));
        assertErrno(Errno.EINVAL, () -> ov.getattr("a/../a/b"));
        assertErrno(Errno.EINVAL, () -> ov.getattr("./a"));
        assertErrno(Errno.EINVAL, () -> ov.getattr("a//b"));
    }

    @Test
    void inodeNumbersStayThoseOfTheLowerObjectThroughCopyUpAndRemount() throws Exception {
        fx.l1().file("f", "x");
        fx.l1().file("d/g", "x");
        fx.l1().file("h1", "x");
        fx.l1().hardLink("h1", "h2");
        fx.upper().dir("m");
        fx.l1().dir("m");
        long f = fx.l1().stat("f").ino();
        long d = fx.l1().stat("d").ino();
        long g = fx.l1().stat("d/g").ino();
        try (Overlay ov = fx.open()) {
            assertEquals(f, ov.getattr("f").ino());
            assertEquals(fx.l1().stat("m").ino(), ov.getattr("m").ino(), "a merged directory shows its lower's");
            assertEquals(fx.upper().stat("").ino(), ov.getattr("").ino(), "the root shows the upper root's");
            ov.chmod("f", 0600);
            ov.chmod("d/g", 0600);
            ov.chmod("h1", 0600);
            assertNotEquals(f, fx.upper().stat("f").ino());
            assertEquals(f, ov.getattr("f").ino());
            assertEquals(d, ov.getattr("d").ino());
            assertEquals(g, ov.getattr("d/g").ino());
            assertEquals(fx.upper().stat("h1").ino(), ov.getattr("h1").ino(),
                    "a lower hard link is broken by its copy-up, and shows the copy's number (as the kernel)");
            OpenFile open = ov.open("f", Linux.O_RDONLY);
            assertEquals(f, ov.fstat(open).ino());
            ov.release(open);
        }
        try (Overlay again = fx.open()) {
            assertEquals(f, again.getattr("f").ino(), "the origin record keeps the number across a remount");
            assertEquals(g, again.getattr("d/g").ino());
            assertEquals(d, again.getattr("d").ino());
            assertEquals(fx.upper().stat("h1").ino(), again.getattr("h1").ino());
        }
    }

    @Test
    void aNumberReusedAfterAnOpenCopyWasRemovedShowsTheNewObjectsOwn() throws Exception {
        // An fstat of a copied-up file that was unlinked while open must not leave its origin's number behind for
        // the next object given the same (freed) upper inode number: ext4 hands it out again at once.
        for (int i = 0; i < 20; i++) {
            fx.l1().file("f" + i, "x");
        }
        try (Overlay ov = fx.open()) {
            for (int i = 0; i < 20; i++) {
                ov.chmod("f" + i, 0600);
                OpenFile open = ov.open("f" + i, Linux.O_RDONLY);
                ov.unlink("f" + i);
                ov.fstat(open);
                ov.release(open);
                ov.symlink("target", "s" + i, Caller.ROOT);
                assertEquals(fx.upper().stat("s" + i).ino(), ov.getattr("s" + i).ino(), "s" + i);
            }
        }
    }
}
