package dev.layerfs.core.attr;

import static dev.layerfs.core.testing.FsAssert.assertErrno;
import static dev.layerfs.core.testing.FsAssert.assertSameTime;
import static dev.layerfs.core.testing.FsAssert.assertScratchEmpty;
import static dev.layerfs.core.testing.OverlayIo.read;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.layerfs.core.Overlay;
import dev.layerfs.core.error.Errno;
import dev.layerfs.core.model.Caller;
import dev.layerfs.core.nativeio.Linux;
import dev.layerfs.core.nativeio.Stat;
import dev.layerfs.core.nativeio.Timespec;
import dev.layerfs.core.testing.LayerTree;
import dev.layerfs.core.testing.LowerLayersUnchanged;
import dev.layerfs.core.testing.OverlayFixture;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/** getattr, chmod, chown, utimens, truncate and access. */
@ExtendWith(LowerLayersUnchanged.class)
class AttributesTest {
    @TempDir
    Path tmp;

    OverlayFixture fx;
    LayerTree upper;

    @BeforeEach
    void fixture() {
        fx = OverlayFixture.create(tmp);
        upper = fx.upper();
        fx.l1().file("f", "0123456789").mode(0644).owner(1001, 1002).mtime(1_200_000_000L, 999_999_999);
        fx.l1().dir("d").mode(0755);
        fx.l1().symlink("ln", "f");
        fx.l1().fifo("p");
    }

    // ---- getattr ----

    @Test
    void getattrOfEachKind() throws Exception {
        fx.l2().file("d/sub/x", "x");
        Overlay ov = fx.open();
        Stat f = ov.getattr("f");
        assertEquals(Linux.S_IFREG | 0644, f.mode());
        assertEquals(10, f.size());
        assertEquals(1001, f.uid());
        assertSameTime(new Timespec(1_200_000_000L, 999_999_999), f.mtime(), "mtime");
        assertTrue(ov.getattr("d").isDirectory());
        assertEquals(1, ov.getattr("d").nlink(), "d merges l1 and l2");
        assertEquals(2, ov.getattr("d/sub").nlink(), "d/sub is l2's alone");
        assertTrue(ov.getattr("ln").isSymlink());
        assertEquals(1, ov.getattr("ln").size());
        assertEquals(Linux.S_IFIFO, ov.getattr("p").type());
        assertErrno(Errno.ENOENT, () -> ov.getattr("missing"));
    }

    @Test
    void aDirectoryOfOneLayerShowsItsNlinkUntilItMerges() throws Exception {
        fx.l1().dir("only/a");
        fx.l1().dir("only/b");
        Overlay ov = fx.open();
        assertEquals(4, ov.getattr("only").nlink());
        dev.layerfs.core.testing.OverlayIo.create(ov, "only/new", "x");
        assertEquals(1, ov.getattr("only").nlink(), "copied up, it now merges");
        ov.mkdir("pure", 0755, Caller.ROOT);
        ov.mkdir("pure/a", 0755, Caller.ROOT);
        ov.mkdir("pure/b", 0755, Caller.ROOT);
        ov.mkdir("pure/c", 0755, Caller.ROOT);
        assertEquals(5, ov.getattr("pure").nlink());
    }

    @Test
    void fstatOfAnOpenFileFollowsItsPath() throws Exception {
        Overlay ov = fx.open();
        var h = ov.open("f", Linux.O_RDONLY);
        assertEquals(ov.getattr("f"), ov.fstat(h));
        ov.truncate("f", 4);
        assertEquals(4, ov.fstat(h).size());
        ov.release(h);
    }

    // ---- chmod ----

    @Test
    void chmodCopiesUpAndChangesOnlyThePermissionBits() throws Exception {
        Overlay ov = fx.open();
        ov.chmod("f", 04750);
        assertEquals(Linux.S_IFREG | 04750, ov.getattr("f").mode());
        assertEquals(Linux.S_IFREG | 04750, upper.stat("f").mode());
        assertEquals(Linux.S_IFREG | 0644, fx.l1().stat("f").mode());
        ov.chmod("d", 01777);
        assertEquals(Linux.S_IFDIR | 01777, ov.getattr("d").mode());
        ov.chmod("p", 0600);
        assertEquals(Linux.S_IFIFO | 0600, ov.getattr("p").mode());
        assertScratchEmpty(fx);
    }

    @Test
    void chmodErrors() throws Exception {
        Overlay ov = fx.open();
        assertErrno(Errno.ENOENT, () -> ov.chmod("missing", 0600));
        assertErrno(Errno.EOPNOTSUPP, () -> ov.chmod("ln", 0600));
        assertErrno(Errno.ENOTDIR, () -> ov.chmod("f/x", 0600));
    }

    // ---- chown ----

    @Test
    void chownChangesOwnerAndGroupOrKeepsWithMinusOne() throws Exception {
        Overlay ov = fx.open();
        ov.chown("f", 3000, 3001);
        assertEquals(3000, ov.getattr("f").uid());
        assertEquals(3001, ov.getattr("f").gid());
        ov.chown("f", -1, 4001);
        assertEquals(3000, ov.getattr("f").uid());
        assertEquals(4001, ov.getattr("f").gid());
        ov.chown("f", 5000, -1);
        assertEquals(5000, ov.getattr("f").uid());
        assertEquals(4001, ov.getattr("f").gid());
        ov.chown("ln", 6000, 6001);
        assertEquals(6000, ov.getattr("ln").uid(), "a link's own owner changes (lchown)");
        assertEquals(5000, ov.getattr("f").uid(), "not its target's");
        ov.chown("d", 7, 8);
        assertEquals(7, upper.stat("d").uid());
        assertErrno(Errno.ENOENT, () -> ov.chown("missing", 1, 1));
    }

    // ---- utimens ----

    @Test
    void utimensSetsTimesToTheNanosecond() throws Exception {
        Overlay ov = fx.open();
        ov.utimens("f", new Timespec(1_000_000_000L, 1), new Timespec(1_100_000_000L, 123_456_789));
        Stat st = ov.getattr("f");
        assertSameTime(new Timespec(1_000_000_000L, 1), st.atime(), "atime");
        assertSameTime(new Timespec(1_100_000_000L, 123_456_789), st.mtime(), "mtime");
    }

    @Test
    void utimensOmitLeavesAndNowSetsTheCurrentTime() throws Exception {
        Overlay ov = fx.open();
        long before = System.currentTimeMillis() / 1000 - 1;
        ov.utimens("f", Timespec.OMIT, Timespec.NOW);
        Stat st = ov.getattr("f");
        assertSameTime(fx.l1().stat("f").atime(), st.atime(), "atime omitted");
        assertTrue(st.mtime().sec() >= before, "mtime set to now: " + st.mtime());
        ov.utimens("f", Timespec.NOW, Timespec.OMIT);
        Stat st2 = ov.getattr("f");
        assertSameTime(st.mtime(), st2.mtime(), "mtime omitted");
        assertTrue(st2.atime().sec() >= before);
    }

    @Test
    void utimensOfASymlinkChangesTheLinkNotTheTarget() throws Exception {
        Overlay ov = fx.open();
        ov.utimens("ln", new Timespec(5, 5), new Timespec(6, 6));
        assertSameTime(new Timespec(6, 6), ov.getattr("ln").mtime(), "link mtime");
        assertSameTime(new Timespec(1_200_000_000L, 999_999_999), ov.getattr("f").mtime(), "target untouched");
        assertFalse(upper.exists("f"));
    }

    @Test
    void utimensOfAMissingNameIsEnoent() throws Exception {
        Overlay ov = fx.open();
        assertErrno(Errno.ENOENT, () -> ov.utimens("missing", Timespec.NOW, Timespec.NOW));
    }

    // ---- truncate ----

    @Test
    void truncateShortensAndExtends() throws Exception {
        Overlay ov = fx.open();
        ov.truncate("f", 4);
        assertEquals("0123", read(ov, "f"));
        ov.truncate("f", 6);
        assertEquals("0123\0\0", read(ov, "f"));
        assertEquals("0123456789", fx.l1().read("f"));
    }

    @Test
    void truncateToZeroCopiesMetadataOnly() throws Exception {
        Overlay ov = fx.open();
        ov.truncate("f", 0);
        assertEquals(0, upper.stat("f").size());
        assertEquals(1001, upper.stat("f").uid());
        assertEquals("", read(ov, "f"));
    }

    @Test
    void truncateErrors() throws Exception {
        Overlay ov = fx.open();
        assertErrno(Errno.EISDIR, () -> ov.truncate("d", 0));
        assertErrno(Errno.EINVAL, () -> ov.truncate("f", -1));
        assertErrno(Errno.EINVAL, () -> ov.truncate("p", 0));
        assertErrno(Errno.ENOENT, () -> ov.truncate("missing", 0));
        assertEquals(List.of(), upper.list(""));
    }

    // ---- access ----

    @Test
    void accessChecksTheMergedModeForTheCaller() throws Exception {
        fx.l1().file("mine", "x").mode(0600).owner(2000, 2000);
        fx.l1().file("grp", "x").mode(0640).owner(1, 2001);
        fx.l1().file("exec", "x").mode(0755);
        Overlay ov = fx.open();
        Caller user = new Caller(2000, 2001);
        ov.access("mine", Linux.R_OK | Linux.W_OK, user);
        assertErrno(Errno.EACCES, () -> ov.access("mine", Linux.X_OK, user));
        ov.access("grp", Linux.R_OK, user);
        assertErrno(Errno.EACCES, () -> ov.access("grp", Linux.W_OK, user));
        assertErrno(Errno.EACCES, () -> ov.access("mine", Linux.R_OK, new Caller(3000, 3000)));
        ov.access("mine", Linux.R_OK | Linux.W_OK, Caller.ROOT);
        assertErrno(Errno.EACCES, () -> ov.access("mine", Linux.X_OK, Caller.ROOT));
        ov.access("exec", Linux.X_OK, Caller.ROOT);
        ov.access("d", Linux.X_OK, Caller.ROOT);
        assertErrno(Errno.ENOENT, () -> ov.access("missing", Linux.R_OK, Caller.ROOT));
        assertEquals(List.of(), upper.list(""), "access copies nothing up");
    }
}
