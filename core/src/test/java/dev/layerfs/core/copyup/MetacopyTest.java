package dev.layerfs.core.copyup;

import static dev.layerfs.core.testing.FsAssert.assertErrno;
import static dev.layerfs.core.testing.FsAssert.assertScratchEmpty;
import static dev.layerfs.core.testing.OverlayIo.read;
import static dev.layerfs.core.testing.OverlayIo.readAll;
import static dev.layerfs.core.testing.OverlayIo.write;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.layerfs.core.Overlay;
import dev.layerfs.core.error.Errno;
import dev.layerfs.core.handle.OpenFile;
import dev.layerfs.core.model.ConfigException;
import dev.layerfs.core.model.KernelFeatures;
import dev.layerfs.core.model.OverlayConfig;
import dev.layerfs.core.nativeio.Linux;
import dev.layerfs.core.nativeio.Stat;
import dev.layerfs.core.nativeio.Timespec;
import dev.layerfs.core.testing.LayerTree;
import dev.layerfs.core.testing.LowerLayersUnchanged;
import dev.layerfs.core.testing.OverlayFixture;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * metacopy=on: metadata changes of a lower regular file copy its metadata only ({@code overlay.metacopy}, as the
 * kernel writes it); its data stays below until the first open for writing or truncate.
 */
@ExtendWith(LowerLayersUnchanged.class)
class MetacopyTest {
    private static final String METACOPY = "trusted.overlay.metacopy";
    private static final String REDIRECT = "trusted.overlay.redirect";
    private static final String BIG = "x".repeat(200_000);

    @TempDir
    Path tmp;

    OverlayFixture fx;
    LayerTree upper;

    @BeforeEach
    void fixture() {
        fx = OverlayFixture.create(tmp);
        upper = fx.upper();
        fx.l1().file("d/f", BIG).mode(0644).mtime(1000, 0);
        fx.l1().file("d/g", "gee");
    }

    private OverlayConfig metacopy() throws ConfigException {
        return fx.writableConfig().withFeatures(KernelFeatures.resolve(Map.of("metacopy", "on")));
    }

    @Test
    void metacopyTurnsRedirectDirOnAsInTheKernel() throws Exception {
        KernelFeatures f = KernelFeatures.resolve(Map.of("metacopy", "on"));
        assertTrue(f.metacopy());
        assertTrue(f.redirectDir().creates());
    }

    @Test
    void chmodCopiesMetadataOnlyUntilAWrite() throws Exception {
        Overlay ov = fx.open(metacopy());
        Stat before = ov.getattr("d/f");
        ov.chmod("d/f", 0600);
        assertEquals("", upper.xattr("d/f", METACOPY));
        assertNotNull(upper.xattr("d/f", "trusted.overlay.origin"));
        Stat real = upper.stat("d/f");
        assertEquals(BIG.length(), real.size(), "the upper file has the size of its data");
        assertTrue(real.blocks() < before.blocks(), "but not its blocks: " + real.blocks());
        Stat after = ov.getattr("d/f");
        assertEquals(Linux.S_IFREG | 0600, after.mode());
        assertEquals(before.ino(), after.ino());
        assertEquals(before.size(), after.size());
        assertEquals(before.blocks(), after.blocks(), "blocks are the data's, as the kernel shows them");
        assertEquals(1000, after.mtime().sec());
        assertEquals(BIG, read(ov, "d/f"), "read from the lower data");

        // Remounted: still metadata only, same view.
        Overlay again = fx.open(metacopy());
        assertEquals(after.mode(), again.getattr("d/f").mode());
        assertEquals(before.blocks(), again.getattr("d/f").blocks());
        assertEquals(BIG, read(again, "d/f"));

        // The first write brings the data up, in place.
        long ino = upper.stat("d/f").ino();
        write(again, "d/f", "new");
        assertNull(upper.xattr("d/f", METACOPY));
        assertEquals(ino, upper.stat("d/f").ino(), "the data was written into the same upper file");
        assertEquals("new", read(again, "d/f"));
        assertEquals(Linux.S_IFREG | 0600, again.getattr("d/f").mode());
        assertEquals(BIG, fx.l1().read("d/f"));
        assertScratchEmpty(fx);
    }

    @Test
    void anOpenForWritingBringsTheDataWithoutChangingIt() throws Exception {
        Overlay ov = fx.open(metacopy());
        ov.utimens("d/f", new Timespec(5, 0), new Timespec(6, 0));
        OpenFile f = ov.open("d/f", Linux.O_WRONLY | Linux.O_APPEND);
        ov.release(f);
        assertNull(upper.xattr("d/f", METACOPY));
        assertEquals(BIG, upper.read("d/f"));
        assertEquals(BIG, read(ov, "d/f"));
    }

    @Test
    void truncateAndOTruncEndTheMetadataOnlyCopy() throws Exception {
        Overlay ov = fx.open(metacopy());
        ov.chmod("d/f", 0600);
        ov.truncate("d/f", 10);
        assertNull(upper.xattr("d/f", METACOPY));
        assertEquals("x".repeat(10), read(ov, "d/f"));
        ov.chown("d/g", 7, 8);
        ov.release(ov.open("d/g", Linux.O_WRONLY | Linux.O_TRUNC));
        assertNull(upper.xattr("d/g", METACOPY));
        assertEquals("", read(ov, "d/g"));
        assertEquals(7, ov.getattr("d/g").uid());
    }

    @Test
    void xattrChangesCopyMetadataOnly() throws Exception {
        Overlay ov = fx.open(metacopy());
        ov.setxattr("d/f", "user.k", "v".getBytes(), 0);
        assertEquals("", upper.xattr("d/f", METACOPY));
        assertEquals("v", new String(ov.getxattr("d/f", "user.k")));
        assertTrue(ov.listxattr("d/f").stream().noneMatch(n -> n.contains("overlay")), "private xattrs hidden");
    }

    @Test
    void aFileOpenForReadingKeepsReadingAndFollowsTheDataCopyUp() throws Exception {
        Overlay ov = fx.open(metacopy());
        OpenFile reader = ov.open("d/g", Linux.O_RDONLY);
        try {
            ov.chmod("d/g", 0600);
            assertEquals(Linux.S_IFREG | 0600, ov.fstat(reader).mode(), "fstat shows the copy's attributes");
            assertEquals("gee", readAll(ov, reader));
            write(ov, "d/g", "new");
            assertEquals("new", readAll(ov, reader), "moved to the upper copy once the data came up");
        } finally {
            ov.release(reader);
        }
    }

    /**
     * Found by the differential fuzzer (seed 4406996270536035956, all four features): a file opened on the data of
     * a metadata-only copy made before the open, then unlinked; fstat is the copy's inode, as on the kernel
     * overlay: its mode, no link left.
     */
    @Test
    void aFileOpenedOnAMetadataOnlyCopyKeepsItsAttributesAfterAnUnlink() throws Exception {
        Overlay ov = fx.open(metacopy());
        ov.chmod("d/g", 0444);
        OpenFile reader = ov.open("d/g", Linux.O_RDONLY);
        try {
            assertTrue(!reader.onUpper(), "opened on the lower data");
            ov.unlink("d/g");
            Stat st = ov.fstat(reader);
            assertEquals(Linux.S_IFREG | 0444, st.mode());
            assertEquals(0, st.nlink());
            assertEquals("gee", readAll(ov, reader));
        } finally {
            ov.release(reader);
        }
    }

    @Test
    void renamesAndHardLinksRedirectToTheData() throws Exception {
        Overlay ov = fx.open(metacopy());
        ov.rename("d/f", "d/f2", 0);
        assertEquals("", upper.xattr("d/f2", METACOPY));
        assertEquals("f", upper.xattr("d/f2", REDIRECT));
        ov.mkdir("e", 0755, dev.layerfs.core.model.Caller.ROOT);
        ov.rename("d/f2", "e/f3", 0);
        assertEquals("/d/f", upper.xattr("e/f3", REDIRECT));
        assertEquals(BIG, read(ov, "e/f3"));
        ov.link("d/g", "d/g2");
        assertEquals("/d/g", upper.xattr("d/g", REDIRECT));
        assertEquals(2, ov.getattr("d/g2").nlink());
        assertEquals("gee", read(ov, "d/g2"));
        write(ov, "d/g2", "one file");
        assertEquals("one file", read(ov, "d/g"), "both names are one upper file");
        Overlay again = fx.open(metacopy());
        assertEquals(BIG, read(again, "e/f3"));
        assertEquals("one file", read(again, "d/g"));
    }

    @Test
    void aLowerHardLinkRenamedInItsDirectoryGetsAnAbsoluteRedirect() throws Exception {
        fx.l1().hardLink("d/g", "d/g-link");
        Overlay ov = fx.open(metacopy());
        ov.rename("d/g", "d/a", 0);
        assertEquals("/d/g", upper.xattr("d/a", REDIRECT), "as the kernel's ovl_need_absolute_redirect");
        assertEquals("gee", read(ov, "d/a"));
    }

    @Test
    void aMetadataOnlyCopyWithoutDataIsEio() throws Exception {
        upper.file("lost", "").xattr(METACOPY, "");
        Overlay ov = fx.open(metacopy());
        assertErrno(Errno.EIO, () -> ov.getattr("lost"));
    }
}
