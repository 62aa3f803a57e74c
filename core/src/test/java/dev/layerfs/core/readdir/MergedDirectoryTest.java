package dev.layerfs.core.readdir;

import static dev.layerfs.core.testing.FsAssert.assertErrno;
import static dev.layerfs.core.testing.OverlayIo.create;
import static dev.layerfs.core.testing.OverlayIo.names;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.layerfs.core.Overlay;
import dev.layerfs.core.error.Errno;
import dev.layerfs.core.lookup.Lookup;
import dev.layerfs.core.model.Caller;
import dev.layerfs.core.inode.InodeNumbers;
import dev.layerfs.core.marker.PrivateXattrs;
import dev.layerfs.core.model.LayerStack;
import dev.layerfs.core.model.OverlayConfig;
import dev.layerfs.core.nativeio.Linux;
import dev.layerfs.core.testing.LayerTree.Opaque;
import dev.layerfs.core.testing.LayerTree.XattrWhiteout;
import dev.layerfs.core.testing.LowerLayersUnchanged;
import dev.layerfs.core.testing.OverlayFixture;
import dev.layerfs.core.whiteout.WhiteoutCodec;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** The merged listing: each name once, from the topmost layer, without whiteouts or what they hide. */
@ExtendWith(LowerLayersUnchanged.class)
class MergedDirectoryTest {
    @TempDir
    Path tmp;

    OverlayFixture fx;

    @BeforeEach
    void fixture() {
        fx = OverlayFixture.create(tmp, 3);
    }

    private static Map<String, DirEntry> byName(List<DirEntry> entries) {
        assertEquals(entries.size(), entries.stream().map(DirEntry::latin1Name).distinct().count(),
                () -> "a name is listed twice: " + entries);
        return entries.stream().collect(Collectors.toMap(e -> e.name().toString(), Function.identity()));
    }

    @Test
    void eachNameIsListedOnceFromTheTopmostLayer() throws Exception {
        fx.upper().file("d/u", "u");
        fx.upper().file("d/shared", "u");
        fx.l1().dir("d/shared");
        fx.l1().file("d/a", "a");
        fx.l1().dir("d/both");
        fx.l2().file("d/both", "below");
        fx.l2().file("d/a", "a2");
        fx.l3().file("d/c", "c");
        Overlay ov = fx.open();
        Map<String, DirEntry> m = byName(ov.readdir("d"));
        assertEquals(List.of("a", "both", "c", "shared", "u"), m.keySet().stream().sorted().toList());
        assertEquals(Linux.S_IFREG, m.get("shared").type(), "the upper file hides l1's directory");
        assertEquals(Linux.S_IFDIR, m.get("both").type(), "l1's directory hides l2's file");
        assertEquals(fx.upper().stat("d/u").ino(), m.get("u").ino());
        assertEquals(fx.l1().stat("d/a").ino(), m.get("a").ino());
        assertEquals(fx.l3().stat("d/c").ino(), m.get("c").ino());
    }

    @Test
    void theRootMergesEveryLayer() throws Exception {
        fx.upper().file("u", "");
        fx.l1().file("one", "");
        fx.l2().file("two", "");
        fx.l3().file("three", "");
        Overlay ov = fx.open();
        assertEquals(List.of("one", "three", "two", "u"), names(ov, "/"));
    }

    @Test
    void typesAreReported() throws Exception {
        fx.l1().file("d/reg", "x");
        fx.l1().dir("d/dir");
        fx.l1().symlink("d/lnk", "reg");
        fx.l1().fifo("d/fifo");
        fx.l1().charDevice("d/chr", 1, 3);
        fx.l1().blockDevice("d/blk", 7, 0);
        fx.l1().socket("d/sock");
        fx.l2().dir("d");
        Overlay ov = fx.open();
        Map<String, DirEntry> m = byName(ov.readdir("d"));
        assertEquals(Linux.S_IFREG, m.get("reg").type());
        assertEquals(Linux.S_IFDIR, m.get("dir").type());
        assertEquals(Linux.S_IFLNK, m.get("lnk").type());
        assertEquals(Linux.S_IFIFO, m.get("fifo").type());
        assertEquals(Linux.S_IFCHR, m.get("chr").type());
        assertEquals(Linux.S_IFBLK, m.get("blk").type());
        assertEquals(Linux.S_IFSOCK, m.get("sock").type());
        for (DirEntry e : m.values()) {
            assertEquals(ov.getattr("d/" + e.name()).type(), e.type(), e.name().toString());
            assertEquals(ov.getattr("d/" + e.name()).ino(), e.ino(), "d_ino equals st_ino for " + e.name());
        }
    }

    @Test
    void deviceWhiteoutsAndWhatTheyHideAreNotListed() throws Exception {
        fx.upper().whiteout("d/gone_u");
        fx.l1().whiteout("d/gone_1");
        fx.l1().file("d/gone_u", "hidden by the upper whiteout");
        fx.l2().file("d/gone_1", "hidden by l1's whiteout");
        fx.l2().file("d/kept", "k");
        Overlay ov = fx.open();
        assertEquals(List.of("kept"), names(ov, "d"));
    }

    @Test
    void aufsWhiteoutsAndWhatTheyHideAreNotListed() throws Exception {
        fx.l1().aufsWhiteout("d/gone");
        fx.l2().file("d/gone", "hidden");
        fx.l2().file("d/kept", "k");
        fx.upper().aufsWhiteout("d/kept2");
        fx.l1().file("d/kept2", "hidden by the upper .wh. file");
        Overlay ov = fx.open();
        assertEquals(List.of("kept"), names(ov, "d"));
    }

    @Test
    void anAufsWhiteoutDoesNotHideTheSameNameInItsOwnLayer() throws Exception {
        fx.l1().aufsWhiteout("d/x");
        fx.l1().file("d/x", "same layer");
        fx.l2().file("d/x", "below");
        Overlay ov = fx.open();
        assertEquals(List.of("x"), names(ov, "d"));
        assertEquals("same layer", dev.layerfs.core.testing.OverlayIo.read(ov, "d/x"));
    }

    @ParameterizedTest
    @EnumSource(XattrWhiteout.class)
    void xattrWhiteoutsInAnXDirectoryAreNotListed(XattrWhiteout how) throws Exception {
        fx.l1().xattrWhiteoutDir("d", how);
        fx.l1().xattrWhiteout("d/foo", how);
        fx.l1().file("d/mine", "m");
        fx.l2().file("d/foo", "hidden");
        fx.l2().file("d/other", "o");
        Overlay ov = fx.open();
        assertEquals(List.of("mine", "other"), names(ov, "d"));
    }

    @Test
    void anXattrMarkedFileInAnUnmarkedDirectoryIsListed() throws Exception {
        fx.l1().xattrWhiteout("d/foo", XattrWhiteout.TRUSTED);
        fx.l2().file("d/other", "o");
        Overlay ov = fx.open();
        assertEquals(List.of("foo", "other"), names(ov, "d"));
    }

    @ParameterizedTest
    @EnumSource(Opaque.class)
    void nothingBelowAnOpaqueDirectoryIsListed(Opaque how) throws Exception {
        fx.l1().file("d/a", "a");
        fx.l2().opaqueDir("d", how);
        fx.l2().file("d/b", "b");
        fx.l3().file("d/c", "c");
        Overlay ov = fx.open();
        assertEquals(List.of("a", "b"), names(ov, "d"));
    }

    @Test
    void whBeginningNamesAreNeverListed() throws Exception {
        fx.upper().emptyFile("d/.wh.nothing_below");
        fx.l1().emptyFile(".wh.lonely");
        fx.l3().emptyFile("d/.wh.bottom");
        fx.l3().file("d/.wh..wh..opq", "");
        fx.l3().file("d/real", "r");
        Overlay ov = fx.open();
        assertEquals(List.of(), names(ov, "/").stream().filter(n -> n.startsWith(".wh.")).toList());
        assertEquals(List.of("real"), names(ov, "d"));
    }

    @Test
    void whiteoutsInADirectoryThatDoesNotMergeAreNotListed() throws Exception {
        // The kernel lists these (and then cannot stat them); layerfs never lists a name it cannot look up.
        fx.upper().whiteout("pure/stale");
        fx.upper().file("pure/f", "f");
        fx.l3().whiteout("bottom/stale");
        Overlay ov = fx.open();
        assertEquals(List.of("f"), names(ov, "pure"));
        assertEquals(List.of(), names(ov, "bottom"));
    }

    @Test
    void theListingFollowsCreatesAndRemovals() throws Exception {
        fx.l1().file("d/a", "a");
        fx.l1().dir("d/sub");
        fx.l2().file("d/b", "b");
        fx.l2().file("d/c", "c");
        Overlay ov = fx.open();
        create(ov, "d/new", "n");
        ov.mkdir("d/newdir", 0755, Caller.ROOT);
        ov.unlink("d/b");
        ov.rmdir("d/sub");
        ov.rename("d/c", "d/c2", 0);
        ov.symlink("a", "d/lnk", Caller.ROOT);
        assertEquals(List.of("a", "c2", "lnk", "new", "newdir"), names(ov, "d"));
        ov.unlink("d/new");
        create(ov, "d/b", "again");
        assertEquals(List.of("a", "b", "c2", "lnk", "newdir"), names(ov, "d"));
        Map<String, DirEntry> m = byName(ov.readdir("d"));
        assertEquals(Linux.S_IFDIR, m.get("newdir").type());
        assertEquals(Linux.S_IFLNK, m.get("lnk").type());
    }

    @Test
    void readdirOfAFileOrAMissingNameFails() throws Exception {
        fx.l1().file("f", "x");
        fx.l1().whiteout("wh");
        Overlay ov = fx.open();
        assertErrno(Errno.ENOTDIR, () -> ov.readdir("f"));
        assertErrno(Errno.ENOENT, () -> ov.readdir("missing"));
        assertErrno(Errno.ENOENT, () -> ov.readdir("wh"));
    }

    @Test
    void anEmptyMergedDirectoryListsNothing() throws Exception {
        fx.l1().dir("d");
        fx.l2().dir("d");
        Overlay ov = fx.open();
        assertEquals(List.of(), ov.readdir("d"));
    }

    /** The listing cache: every change that can alter a listing drops it, and the list itself is read-only. */
    @Test
    void aCachedListingFollowsEveryChange() throws Exception {
        fx.l1().file("d/a", "a");
        fx.l1().dir("d/sub");
        fx.l1().file("d/sub/x", "x");
        fx.l2().file("d/b", "b");
        Overlay ov = fx.open();
        List<DirEntry> first = ov.readdir("d");
        assertEquals(List.of("a", "b", "sub"), names(ov, "d"));
        assertSame(first, ov.readdir("d"), "a second listing comes from the cache");
        assertThrows(UnsupportedOperationException.class, first::clear);

        long lowerIno = byName(ov.readdir("d")).get("b").ino();
        ov.chmod("d/b", 0600);
        assertNotSame(first, ov.readdir("d"), "a copy-up drops the listing");
        assertEquals(lowerIno, byName(ov.readdir("d")).get("b").ino(), "the copy keeps its origin's number");
        assertEquals(ov.getattr("d/b").ino(), byName(ov.readdir("d")).get("b").ino());

        long subIno = byName(ov.readdir("d")).get("sub").ino();
        assertEquals(List.of("x"), names(ov, "d/sub"));
        create(ov, "d/sub/y", "y");
        assertEquals(List.of("x", "y"), names(ov, "d/sub"), "a create below copies the parent up");
        assertEquals(ov.getattr("d/sub").ino(), byName(ov.readdir("d")).get("sub").ino());
        assertEquals(subIno, ov.getattr("d/sub").ino(), "a merged directory shows its lower directory's number");

        ov.unlink("d/a");
        assertEquals(List.of("b", "sub"), names(ov, "d"));
        ov.mkdir("d/a", 0755, Caller.ROOT);
        assertEquals(List.of("a", "b", "sub"), names(ov, "d"));
        assertEquals(List.of(), names(ov, "d/a"), "a directory made over a whiteout is opaque");
        ov.rmdir("d/a");
        ov.rename("d/b", "d/c", 0);
        assertEquals(List.of("c", "sub"), names(ov, "d"));
        ov.link("d/c", "d/l");
        ov.symlink("c", "d/s", Caller.ROOT);
        assertEquals(List.of("c", "l", "s", "sub"), names(ov, "d"));
        ov.mkdir("e", 0755, Caller.ROOT);
        assertEquals(List.of(), names(ov, "e"));
        ov.rename("d/c", "e/c", 0);
        assertEquals(List.of("l", "s", "sub"), names(ov, "d"));
        assertEquals(List.of("c"), names(ov, "e"));
        ov.unlink("e/c");
        assertEquals(List.of(), names(ov, "e"));
        ov.rename("e", "d/e", 0);
        assertEquals(List.of(), names(ov, "d/e"), "the listing of a moved directory is its own");
        assertErrno(Errno.ENOENT, () -> ov.readdir("e"));
        assertEquals(List.of("e", "l", "s", "sub"), names(ov, "d"));
    }

    @Test
    void theCacheStaysBoundedAndADirectoryTooLargeForItIsStillListed() throws Exception {
        fx.l1().file("big/a", "a");
        fx.l1().file("big/b", "b");
        fx.l1().file("big/c", "c");
        fx.l1().file("two/a", "a");
        fx.l1().file("two/b", "b");
        fx.l1().file("one/a", "a");
        try (LayerStack stack = LayerStack.open(OverlayConfig.readOnly(List.of(fx.l1().root())))) {
            PrivateXattrs markers = new PrivateXattrs();
            WhiteoutCodec whiteouts = new WhiteoutCodec(markers);
            Lookup lookup = new Lookup(stack, whiteouts);
            MergedDirectory dirs = new MergedDirectory(whiteouts, new InodeNumbers(stack, markers), lookup, 2);
            List<DirEntry> big = dirs.list(lookup.resolve("big"));
            assertEquals(3, big.size());
            assertNotSame(big, dirs.list(lookup.resolve("big")), "too large to cache: listed afresh");
            List<DirEntry> two = dirs.list(lookup.resolve("two"));
            assertSame(two, dirs.list(lookup.resolve("two")));
            List<DirEntry> one = dirs.list(lookup.resolve("one"));
            assertSame(one, dirs.list(lookup.resolve("one")), "the cache started over to make room");
            assertNotSame(two, dirs.list(lookup.resolve("two")));
        }
    }

    @Test
    void aNewLinkToALowerFileListsTheNumberItsStatShows() throws Exception {
        fx.l1().file("e", "e");
        fx.l1().dir("a");
        Overlay ov = fx.open();
        ov.link("e", "a/n");
        long ino = ov.getattr("a/n").ino();
        assertEquals(fx.l1().stat("e").ino(), ino, "the copy keeps its origin's number");
        assertEquals(ino, byName(ov.readdir("a")).get("n").ino(), "d_ino equals st_ino (ovl_link marks a impure)");
        assertEquals(ino, byName(ov.readdir("")).get("e").ino());
    }
}
