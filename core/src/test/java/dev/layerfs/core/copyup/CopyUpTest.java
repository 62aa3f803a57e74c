package dev.layerfs.core.copyup;

import static dev.layerfs.core.testing.FsAssert.assertDeviceWhiteout;
import static dev.layerfs.core.testing.FsAssert.assertSameMetadata;
import static dev.layerfs.core.testing.FsAssert.assertSameTime;
import static dev.layerfs.core.testing.FsAssert.assertScratchEmpty;
import static dev.layerfs.core.testing.OverlayIo.read;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.layerfs.core.Overlay;
import dev.layerfs.core.handle.OpenFile;
import dev.layerfs.core.model.Caller;
import dev.layerfs.core.nativeio.Linux;
import dev.layerfs.core.nativeio.Stat;
import dev.layerfs.core.nativeio.Syscalls;
import dev.layerfs.core.nativeio.Timespec;
import dev.layerfs.core.testing.LayerTree;
import dev.layerfs.core.testing.LowerLayersUnchanged;
import dev.layerfs.core.testing.OverlayFixture;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Copy-up of every file type with its metadata (mode, owner, atime/mtime to the ns, xattrs), parents first,
 * the upper parent's times kept, nothing left in the work directory; and every operation that triggers it.
 */
@ExtendWith(LowerLayersUnchanged.class)
class CopyUpTest {
    /** A version 2 file capability: cap_net_bind_service permitted and effective. */
    static final byte[] CAPABILITY = {0x01, 0x00, 0x00, 0x02, 0x00, 0x04, 0x00, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
            0, 0};

    @TempDir
    Path tmp;

    OverlayFixture fx;
    LayerTree l1;
    LayerTree upper;
    final Syscalls sys = Syscalls.get();

    @BeforeEach
    void fixture() {
        fx = OverlayFixture.create(tmp);
        l1 = fx.l1();
        upper = fx.upper();
    }

    @Test
    void watchersAreToldOfEachCopyUpParentsFirstAndOfNothingElse() throws Exception {
        l1.file("a/b/f", "data");
        l1.file("g", "g");
        Overlay ov = fx.open();
        List<String> told = new java.util.ArrayList<>();
        ov.watchCopyUps(told::add);

        ov.getattr("g");
        ov.chmod("a/b/f", 0600);
        ov.chmod("a/b/f", 0640);

        assertEquals(List.of("a", "a/b", "a/b/f"), told);
    }

    // ---- the kernel-facts scenario: L1/a/b/f chmod'ed through the overlay ----

    @Test
    void parentsAreCopiedFirstWithTheirMetadataAndTheFileWithItsOwn() throws Exception {
        l1.file("a/b/f", "data").mode(0644).owner(1005, 1006).xattr("user.fattr", "v2")
                .mtime(1_500_000_000L, 555_555_555);
        l1.at("a/b").mode(0705).owner(1003, 1004).xattr("user.lowattr", "v1").mtime(1_300_000_000L, 222_222_222);
        l1.at("a").mode(0751).owner(1001, 1002).mtime(1_100_000_000L, 987_654_321);
        Overlay ov = fx.open();

        ov.chmod("a/b/f", 0600);

        assertSameMetadata(l1.stat("a"), upper.stat("a"), "a");
        assertSameMetadata(l1.stat("a/b"), upper.stat("a/b"), "a/b");
        assertEquals(Linux.S_IFDIR | 0751, upper.stat("a").mode());
        assertEquals(Linux.S_IFDIR | 0705, upper.stat("a/b").mode());
        assertSameTime(new Timespec(1_100_000_000L, 987_654_321), upper.stat("a").mtime(), "a mtime");
        assertSameTime(new Timespec(1_300_000_000L, 222_222_222), upper.stat("a/b").mtime(),
                "a/b mtime, after f was copied into it");
        assertEquals("v1", upper.xattr("a/b", "user.lowattr"));

        Stat lf = l1.stat("a/b/f");
        Stat uf = upper.stat("a/b/f");
        assertEquals(Linux.S_IFREG | 0600, uf.mode());
        assertEquals(1005, uf.uid());
        assertEquals(1006, uf.gid());
        assertSameTime(lf.mtime(), uf.mtime(), "f mtime");
        assertSameTime(lf.atime(), uf.atime(), "f atime");
        assertSameTime(new Timespec(1_500_000_000L, 555_555_555), uf.mtime(), "f mtime as set");
        assertEquals("v2", upper.xattr("a/b/f", "user.fattr"));
        assertEquals("data", upper.read("a/b/f"));
        assertEquals("data", read(ov, "a/b/f"));
        assertEquals(Linux.S_IFREG | 0600, ov.getattr("a/b/f").mode());
        assertScratchEmpty(fx);
    }

    @Test
    void theUpperParentsTimesAreKept() throws Exception {
        upper.dir("p").mtime(1_234_567_890L, 111_111_111);
        upper.at("").mtime(1_222_222_222L, 333);
        l1.file("p/f", "x");
        l1.file("g", "y");
        Overlay ov = fx.open();
        ov.chmod("p/f", 0600);
        ov.chmod("g", 0600);
        assertSameTime(new Timespec(1_234_567_890L, 111_111_111), upper.stat("p").mtime(), "p mtime");
        assertSameTime(new Timespec(1_222_222_222L, 333), upper.stat("").mtime(), "upper root mtime");
        assertTrue(upper.exists("p/f"));
    }

    @Test
    void privateXattrsOfTheLowerObjectAreNotCopied() throws Exception {
        l1.xattrWhiteoutDir("d", LayerTree.XattrWhiteout.TRUSTED).xattr("user.overlay.foo", "1")
                .xattr("user.fuseoverlayfs.bar", "2").xattr("user.keep", "3");
        l1.file("d/f", "x").xattr("trusted.overlay.origin", "junk").xattr("trusted.other", "4");
        Overlay ov = fx.open();
        ov.chmod("d/f", 0600);
        // Only what the copy-up writes itself: where each object came from, and that d now holds such objects.
        assertEquals(List.of("trusted.overlay.impure", "trusted.overlay.origin", "user.keep"), upper.xattrNames("d"));
        assertEquals(List.of("trusted.other", "trusted.overlay.origin"), upper.xattrNames("d/f"));
        assertNotEquals("junk", upper.xattr("d/f", "trusted.overlay.origin"));
    }

    @Test
    void aCopyUpRecordsItsOriginInTheKernelsForm() throws Exception {
        l1.file("d/f", "x");
        l1.dir("e");
        Overlay ov = fx.open();
        ov.chmod("d/f", 0600);
        ov.mkdir("e/n", 0755, Caller.ROOT);
        byte[] origin = upper.xattrBytes("d/f", "trusted.overlay.origin");
        // struct ovl_fb: version 0, magic 0xfb, its length, flags (little-endian: 0), the handle type, a UUID, the handle.
        assertEquals(0, origin[0]);
        assertEquals((byte) 0xfb, origin[1]);
        assertEquals(origin.length, origin[2] & 0xff);
        assertEquals("y", upper.xattr("d", "trusted.overlay.impure"), "d holds a copied-up object");
        assertNotNull(upper.xattrBytes("e", "trusted.overlay.origin"), "a copied-up parent records its origin too");
        assertNull(upper.xattrBytes("e/n", "trusted.overlay.origin"), "a new object has no origin");
        assertNull(upper.xattrBytes("e", "trusted.overlay.impure"), "e holds only a new object");
    }

    // ---- every file type ----

    @Test
    void regularFileWithDataAndSecurityCapability() throws Exception {
        l1.file("bin/ping", "ELF....").mode(04755).owner(0, 1234).xattr("security.capability", CAPABILITY)
                .xattr("user.note", "n").mtime(1_400_000_000L, 1);
        Overlay ov = fx.open();
        // A trigger that changes neither owner nor mode (a chown, even to -1/-1, drops capabilities).
        ov.setxattr("bin/ping", "user.trigger", new byte[] {1}, 0);
        Stat u = upper.stat("bin/ping");
        assertSameMetadata(l1.stat("bin/ping"), u, "ping");
        assertEquals(Linux.S_IFREG | 04755, u.mode(), "set-uid kept");
        assertArrayEquals(CAPABILITY, upper.xattrBytes("bin/ping", "security.capability"));
        assertEquals("n", upper.xattr("bin/ping", "user.note"));
        assertEquals("ELF....", upper.read("bin/ping"));
        assertScratchEmpty(fx);
    }

    @Test
    void sparseFileKeepsItsHoles() throws Exception {
        long size = 64L << 20;
        long second = 32L << 20;
        l1.sparseFile("sparse", size, 0, second);
        Overlay ov = fx.open();
        OpenFile f = ov.open("sparse", Linux.O_RDWR);
        ov.release(f);

        Stat u = upper.stat("sparse");
        assertEquals(size, u.size());
        assertTrue(u.blocks() * 512 < 4L << 20, () -> "the copy allocated " + u.blocks() * 512 + " bytes");
        int fd = sys.openat(Linux.AT_FDCWD, upper.path("sparse").toString(), Linux.O_RDONLY, 0);
        try {
            long hole = sys.lseek(fd, 0, Linux.SEEK_HOLE);
            assertTrue(hole >= 4096 && hole < second, "first hole at " + hole);
            assertEquals(second, sys.lseek(fd, hole, Linux.SEEK_DATA), "the second extent is data");
            byte[] buf = new byte[4096];
            assertEquals(4096, sys.pread(fd, buf, 4096, second));
            byte[] expected = new byte[4096];
            Arrays.fill(expected, (byte) 'D');
            assertArrayEquals(expected, buf);
            assertEquals(4096, sys.pread(fd, buf, 4096, 1 << 20));
            assertArrayEquals(new byte[4096], buf, "holes read as zeros");
        } finally {
            sys.close(fd);
        }
    }

    @Test
    void emptyFile() throws Exception {
        l1.emptyFile("e").mode(0604).owner(7, 8).mtime(1_000_000_000L, 42);
        Overlay ov = fx.open();
        ov.chown("e", -1, -1);
        assertSameMetadata(l1.stat("e"), upper.stat("e"), "e");
        assertEquals(0, upper.stat("e").size());
    }

    @Test
    void symbolicLink() throws Exception {
        l1.symlink("dir/ln", "../target/x").owner(1001, 1002).times(new Timespec(1_000_000_001L, 5),
                new Timespec(1_000_000_000L, 6));
        Overlay ov = fx.open();
        // readlink(2) always updates a link's atime (relatime: it is old), and the snapshot of the lower layers
        // taken at open reads the target: the copy must carry the atime the link has when it is copied.
        Timespec atimeBefore = l1.stat("dir/ln").atime();
        ov.chown("dir/ln", -1, -1);
        Stat u = upper.stat("dir/ln");
        assertTrue(u.isSymlink());
        assertEquals("../target/x", upper.readlink("dir/ln"));
        assertEquals(1001, u.uid());
        assertEquals(1002, u.gid());
        assertSameTime(new Timespec(1_000_000_000L, 6), u.mtime(), "link mtime");
        assertSameTime(atimeBefore, u.atime(), "link atime");
        assertEquals("../target/x", ov.readlink("dir/ln"));
        assertScratchEmpty(fx);
    }

    @Test
    void fifo() throws Exception {
        l1.fifo("p").mode(0640).owner(11, 12).xattr("trusted.x", "1").mtime(1_100_000_000L, 7);
        Overlay ov = fx.open();
        ov.chmod("p", 0600);
        Stat u = upper.stat("p");
        assertEquals(Linux.S_IFIFO | 0600, u.mode());
        assertEquals(11, u.uid());
        assertEquals(12, u.gid());
        assertSameTime(l1.stat("p").mtime(), u.mtime(), "mtime");
        assertSameTime(l1.stat("p").atime(), u.atime(), "atime");
        assertEquals("1", upper.xattr("p", "trusted.x"));
    }

    @Test
    void characterAndBlockDevicesAndSockets() throws Exception {
        l1.charDevice("dev/null", 1, 3).mode(0666).owner(0, 5).mtime(1_100_000_000L, 9);
        l1.blockDevice("dev/loop9", 7, 9).mode(0660).owner(0, 6).mtime(1_100_000_000L, 10);
        l1.socket("run/sock").mode(0755).owner(3, 4).mtime(1_100_000_000L, 11);
        Overlay ov = fx.open();
        for (String p : List.of("dev/null", "dev/loop9", "run/sock")) {
            ov.chown(p, -1, -1);
            Stat u = upper.stat(p);
            assertSameMetadata(l1.stat(p), u, p);
            assertEquals(l1.stat(p).rdev(), u.rdev(), p + " rdev");
        }
        assertEquals(LayerTree.makedev(1, 3), upper.stat("dev/null").rdev());
        assertScratchEmpty(fx);
    }

    @Test
    void directoryAloneIsCopiedNotItsContentAndIsNotOpaque() throws Exception {
        l1.file("d/child", "c");
        l1.dir("d/subdir");
        l1.at("d").mode(0750).owner(21, 22).xattr("user.d", "dd").mtime(1_111_111_111L, 111);
        fx.l2().file("d/low2", "2");
        Overlay ov = fx.open();
        ov.chmod("d", 0700);
        Stat u = upper.stat("d");
        assertEquals(Linux.S_IFDIR | 0700, u.mode());
        assertEquals(21, u.uid());
        assertEquals(22, u.gid());
        assertSameTime(new Timespec(1_111_111_111L, 111), u.mtime(), "mtime");
        assertSameTime(l1.stat("d").atime(), u.atime(), "atime");
        assertEquals("dd", upper.xattr("d", "user.d"));
        assertEquals(List.of(), upper.list("d"), "the children stay below");
        assertFalse(upper.isOpaque("d"));
        assertEquals(List.of("trusted.overlay.origin", "user.d"), upper.xattrNames("d"));
        assertEquals(List.of("child", "low2", "subdir"), dev.layerfs.core.testing.OverlayIo.names(ov, "d"));
    }

    @Test
    void aLargeFileIsCopiedExactly() throws Exception {
        byte[] data = new byte[(3 << 20) + 7];
        new java.util.Random(42).nextBytes(data);
        l1.file("big", data);
        Overlay ov = fx.open();
        ov.chmod("big", 0600);
        assertArrayEquals(data, upper.bytes("big"));
        assertScratchEmpty(fx);
    }

    @Test
    void aFileThatIsAllHoleIsCopiedAsAHole() throws Exception {
        l1.sparseFile("holes", 8L << 20);
        Overlay ov = fx.open();
        ov.chmod("holes", 0600);
        assertEquals(8L << 20, upper.stat("holes").size());
        assertTrue(upper.stat("holes").blocks() < 64, "blocks: " + upper.stat("holes").blocks());
    }

    @Test
    void longSymlinkTargetsManyXattrsAndLargeValuesAreCopied() throws Exception {
        String target = "t/".repeat(600) + "end";
        l1.symlink("ln", target);
        LayerTree.Node f = l1.file("f", "x");
        // Past the engine's first buffers (1024 bytes of names, 256 bytes of value), within ext4's one block.
        for (int i = 0; i < 50; i++) {
            f.xattr(String.format("user.attribute-number-%03d", i), "v" + i);
        }
        byte[] big = new byte[1000];
        Arrays.fill(big, (byte) 7);
        f.xattr("user.big", big);
        Overlay ov = fx.open();
        ov.chown("ln", -1, -1);
        ov.chmod("f", 0600);
        assertEquals(target, upper.readlink("ln"));
        assertEquals(target, ov.readlink("ln"));
        List<String> copied = upper.xattrNames("f").stream().filter(n -> !n.startsWith("trusted.overlay.")).toList();
        assertEquals(51, copied.size());
        assertEquals(l1.xattrNames("f"), copied);
        assertEquals("v37", upper.xattr("f", "user.attribute-number-037"));
        assertArrayEquals(big, upper.xattrBytes("f", "user.big"));
        assertEquals(51, ov.listxattr("f").size());
    }

    @Test
    void aFailedCopyUpLeavesNothingHalfDone() throws Exception {
        try (dev.layerfs.core.testing.TmpfsMount small = dev.layerfs.core.testing.TmpfsMount.mountOrSkip(
                tmp.resolve("small"), "1m")) {
            OverlayFixture sfx = OverlayFixture.create(small.dir());
            byte[] data = new byte[4 << 20];
            Arrays.fill(data, (byte) 'x');
            // The lower layer lives on /tmp; only upper and work are on the small tmpfs.
            l1.file("big", data);
            l1.file("d/small", "s");
            dev.layerfs.core.model.OverlayConfig cfg = dev.layerfs.core.model.OverlayConfig.writable(
                    fx.lowerPaths(), sfx.upper().root(), sfx.workDir());
            Overlay ov = fx.open(cfg);
            dev.layerfs.core.testing.FsAssert.assertErrno(dev.layerfs.core.error.Errno.ENOSPC,
                    () -> ov.chmod("big", 0600));
            assertFalse(sfx.upper().exists("big"), "no partial copy in the upper layer");
            assertEquals(List.of(), sfx.scratch().list(""), "nothing left in the work directory");
            assertEquals(4 << 20, ov.getattr("big").size());
            ov.chmod("d/small", 0600);
            assertEquals("s", sfx.upper().read("d/small"), "the overlay still works");
            ov.close();
        }
    }

    // ---- what triggers a copy-up, and what does not ----

    @FunctionalInterface
    interface Trigger {
        void run(Overlay ov) throws Exception;
    }

    static Stream<Arguments> triggers() {
        return Stream.of(
                Arguments.of("open O_WRONLY", "f", "0123456789", (Trigger) ov -> ov.release(ov.open("f",
                        Linux.O_WRONLY))),
                Arguments.of("open O_RDWR", "f", "0123456789", (Trigger) ov -> ov.release(ov.open("f",
                        Linux.O_RDWR))),
                Arguments.of("open O_RDONLY|O_TRUNC", "f", "", (Trigger) ov -> ov.release(ov.open("f",
                        Linux.O_RDONLY | Linux.O_TRUNC))),
                Arguments.of("open O_WRONLY|O_TRUNC", "f", "", (Trigger) ov -> ov.release(ov.open("f",
                        Linux.O_WRONLY | Linux.O_TRUNC))),
                Arguments.of("truncate 5", "f", "01234", (Trigger) ov -> ov.truncate("f", 5)),
                Arguments.of("truncate 0", "f", "", (Trigger) ov -> ov.truncate("f", 0)),
                Arguments.of("chmod", "f", "0123456789", (Trigger) ov -> ov.chmod("f", 0640)),
                Arguments.of("chown", "f", "0123456789", (Trigger) ov -> ov.chown("f", 1005, 1006)),
                Arguments.of("utimens", "f", "0123456789", (Trigger) ov -> ov.utimens("f", Timespec.NOW,
                        Timespec.OMIT)),
                Arguments.of("setxattr", "f", "0123456789", (Trigger) ov -> ov.setxattr("f", "user.new",
                        "v".getBytes(StandardCharsets.UTF_8), 0)),
                Arguments.of("removexattr", "f", "0123456789", (Trigger) ov -> ov.removexattr("f", "user.old")),
                Arguments.of("link", "f", "0123456789", (Trigger) ov -> ov.link("f", "f2")),
                Arguments.of("rename", "g", "0123456789", (Trigger) ov -> ov.rename("f", "g", 0)));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("triggers")
    void triggersCopyUp(String what, String upperName, String content, Trigger trigger) throws Exception {
        l1.file("f", "0123456789").mode(0640).owner(1005, 1006).xattr("user.old", "o")
                .mtime(1_200_000_000L, 123);
        Overlay ov = fx.open();
        trigger.run(ov);
        assertTrue(upper.exists(upperName), what + " did not copy up");
        Stat u = upper.stat(upperName);
        assertEquals(Linux.S_IFREG | 0640, u.mode());
        assertEquals(1005, u.uid());
        assertEquals(1006, u.gid());
        assertEquals(content, upper.read(upperName));
        assertEquals(content, read(ov, upperName));
        assertScratchEmpty(fx);
        if (!what.startsWith("open") && !what.startsWith("truncate")) {
            assertSameTime(new Timespec(1_200_000_000L, 123), u.mtime(), "mtime kept by " + what);
        }
    }

    @Test
    void openTruncCopiesMetadataOnly() throws Exception {
        l1.file("f", "a lot of data").mode(0604).owner(31, 32).xattr("user.m", "m");
        Overlay ov = fx.open();
        ov.release(ov.open("f", Linux.O_RDWR | Linux.O_TRUNC));
        Stat u = upper.stat("f");
        assertEquals(0, u.size());
        assertEquals(Linux.S_IFREG | 0604, u.mode());
        assertEquals(31, u.uid());
        assertEquals("m", upper.xattr("f", "user.m"));
    }

    @Test
    void readingDoesNotCopyUp() throws Exception {
        l1.file("d/f", "data").xattr("user.x", "1");
        l1.dir("e");
        Overlay ov = fx.open();
        assertEquals("data", read(ov, "d/f"));
        ov.getattr("d/f");
        ov.readdir("d");
        ov.getxattr("d/f", "user.x");
        ov.listxattr("d/f");
        ov.access("d/f", Linux.R_OK | Linux.W_OK, Caller.ROOT);
        OpenFile f = ov.open("d/f", Linux.O_RDONLY | Linux.O_CREAT, 0644, Caller.ROOT);
        ov.release(f);
        assertEquals(List.of(), upper.list(""));
    }

    @Test
    void failedOperationsDoNotCopyUp() throws Exception {
        l1.file("d/f", "data");
        Overlay ov = fx.open();
        dev.layerfs.core.testing.FsAssert.assertErrno(dev.layerfs.core.error.Errno.EPERM,
                () -> ov.setxattr("d/f", "trusted.overlay.x", new byte[] {1}, 0));
        dev.layerfs.core.testing.FsAssert.assertErrno(dev.layerfs.core.error.Errno.ENODATA,
                () -> ov.removexattr("d/f", "user.absent"));
        assertEquals(List.of(), upper.list(""));
    }

    @Test
    void aCopiedUpFileIsNotCopiedAgain() throws Exception {
        l1.file("f", "low");
        Overlay ov = fx.open();
        dev.layerfs.core.testing.OverlayIo.write(ov, "f", "changed");
        long ino = upper.stat("f").ino();
        ov.chmod("f", 0600);
        ov.truncate("f", 3);
        assertEquals(ino, upper.stat("f").ino());
        assertEquals("cha", read(ov, "f"));
    }

    @Test
    void linkCopiesUpOnceAndLinksInTheUpperLayer() throws Exception {
        l1.file("f", "x");
        fx.l2().file("sub/g", "g");
        Overlay ov = fx.open();
        ov.link("f", "f2");
        ov.link("sub/g", "g2");
        assertEquals(upper.stat("f").ino(), upper.stat("f2").ino());
        assertEquals(2, upper.stat("f").nlink());
        assertEquals(upper.stat("sub/g").ino(), upper.stat("g2").ino());
        assertScratchEmpty(fx);
    }

    @Test
    void renameLeavesAWhiteoutWhereTheLowerHadTheName() throws Exception {
        l1.file("f", "x");
        Overlay ov = fx.open();
        ov.rename("f", "g", 0);
        assertDeviceWhiteout(upper, "f");
        assertEquals("x", upper.read("g"));
        assertNull(upper.xattr("g", "trusted.overlay.opaque"));
    }
}
