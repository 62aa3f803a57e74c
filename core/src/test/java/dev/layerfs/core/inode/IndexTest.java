package dev.layerfs.core.inode;

import static dev.layerfs.core.testing.FsAssert.assertScratchEmpty;
import static dev.layerfs.core.testing.OverlayIo.exists;
import static dev.layerfs.core.testing.OverlayIo.read;
import static dev.layerfs.core.testing.OverlayIo.readAll;
import static dev.layerfs.core.testing.OverlayIo.write;
import static dev.layerfs.core.testing.OverlayIo.writeAt;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.layerfs.core.Overlay;
import dev.layerfs.core.handle.OpenFile;
import dev.layerfs.core.model.ConfigException;
import dev.layerfs.core.model.KernelFeatures;
import dev.layerfs.core.model.OverlayConfig;
import dev.layerfs.core.nativeio.Linux;
import dev.layerfs.core.nativeio.Stat;
import dev.layerfs.core.readdir.DirEntry;
import dev.layerfs.core.testing.LayerTree;
import dev.layerfs.core.testing.LowerLayersUnchanged;
import dev.layerfs.core.testing.OverlayFixture;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * index=on: a hard link of a lower layer stays one file through copy-up, in the kernel's on-disk form
 * ({@code WORKDIR/index/<hex of the origin record>}, {@code overlay.nlink} as {@code U%+d}).
 */
@ExtendWith(LowerLayersUnchanged.class)
class IndexTest {
    private static final String ORIGIN = "trusted.overlay.origin";
    private static final String NLINK = "trusted.overlay.nlink";

    @TempDir
    Path tmp;

    OverlayFixture fx;
    LayerTree upper;
    long lowerIno;

    @BeforeEach
    void fixture() {
        fx = OverlayFixture.create(tmp);
        upper = fx.upper();
        fx.l1().file("d/a", "hello");
        fx.l1().hardLink("d/a", "d/b");
        fx.l1().hardLink("d/a", "d/c");
        fx.l1().file("d/single", "one");
        fx.l1().settle();
        lowerIno = fx.l1().stat("d/a").ino();
    }

    private OverlayConfig indexOn() throws ConfigException {
        return fx.writableConfig().withFeatures(KernelFeatures.resolve(Map.of("index", "on")));
    }

    private LayerTree index() {
        return new LayerTree(fx.workDir().resolve("index"));
    }

    private static void overwrite(Overlay ov, String path, String content) throws Exception {
        OpenFile f = ov.open(path, Linux.O_WRONLY);
        try {
            writeAt(ov, f, content, 0);
        } finally {
            ov.release(f);
        }
    }

    private static void assertOneFile(Overlay ov, long ino, long nlink, String... names) throws Exception {
        for (String n : names) {
            Stat st = ov.getattr(n);
            assertEquals(ino, st.ino(), n + ": inode number");
            assertEquals(nlink, st.nlink(), n + ": link count");
        }
    }

    @Test
    void aWriteThroughOneNameIsSeenThroughEveryName() throws Exception {
        Overlay ov = fx.open(indexOn());
        assertOneFile(ov, lowerIno, 3, "d/a", "d/b", "d/c");
        overwrite(ov, "d/a", "HELLO");
        assertEquals("HELLO", read(ov, "d/a"));
        assertEquals("HELLO", read(ov, "d/b"), "the other names are the same file");
        assertEquals("HELLO", read(ov, "d/c"));
        assertOneFile(ov, lowerIno, 3, "d/a", "d/b", "d/c");
        assertEquals("hello", fx.l1().read("d/b"));

        // The kernel's layout: one upper name linked to the index entry, named after the origin record.
        String origin = HexFormat.of().formatHex(upper.xattrBytes("d/a", ORIGIN));
        assertEquals(List.of(origin), index().list(""));
        assertEquals(upper.stat("d/a").ino(), index().stat(origin).ino());
        assertEquals(2, upper.stat("d/a").nlink());
        assertEquals("U+1", upper.xattr("d/a", NLINK));
        assertFalse(upper.exists("d/b"), "the other names are not copied up by a lookup");
        assertScratchEmpty(fx);

        // Writing through a second name links it to the index entry.
        write(ov, "d/b", "bee");
        assertEquals("bee", read(ov, "d/a"));
        assertEquals(upper.stat("d/a").ino(), upper.stat("d/b").ino());
        assertEquals("U+0", upper.xattr("d/b", NLINK));
        assertOneFile(ov, lowerIno, 3, "d/a", "d/b", "d/c");

        // Remounted: the same view.
        Overlay again = fx.open(indexOn());
        assertOneFile(again, lowerIno, 3, "d/a", "d/b", "d/c");
        assertEquals("bee", read(again, "d/c"));
        assertOneFile(again, fx.l1().stat("d/single").ino(), 1, "d/single");
    }

    @Test
    void aFileOpenOnAnotherNameReadsWhatIsWrittenThroughThisOne() throws Exception {
        Overlay ov = fx.open(indexOn());
        OpenFile b = ov.open("d/b", Linux.O_RDONLY);
        try {
            assertEquals("hello", readAll(ov, b));
            overwrite(ov, "d/a", "HELLO");
            assertEquals("HELLO", readAll(ov, b), "as on the kernel: one inode, whichever name opened it");
        } finally {
            ov.release(b);
        }
    }

    @Test
    void anXattrSetThroughANameNotCopiedUpGoesToTheIndexedInode() throws Exception {
        Overlay ov = fx.open(indexOn());
        overwrite(ov, "d/a", "HELLO");
        ov.setxattr("d/b", "user.k", "v".getBytes(java.nio.charset.StandardCharsets.UTF_8), 0);
        assertFalse(upper.exists("d/b"), "as the kernel: no upper name for an xattr change");
        assertEquals("v", upper.xattr("d/a", "user.k"));
        assertEquals("v", new String(ov.getxattr("d/c", "user.k"), java.nio.charset.StandardCharsets.UTF_8));
        ov.chmod("d/b", 0600);
        assertTrue(upper.exists("d/b"), "as the kernel: a chmod links the name up");
        assertOneFile(ov, lowerIno, 3, "d/a", "d/b", "d/c");
    }

    @Test
    void listingsShowTheNumbersStatShows() throws Exception {
        Overlay ov = fx.open(indexOn());
        overwrite(ov, "d/b", "HELLO");
        for (DirEntry e : ov.readdir("d")) {
            String name = e.latin1Name();
            if (!name.equals(".") && !name.equals("..")) {
                assertEquals(ov.getattr("d/" + name).ino(), e.ino(), name);
            }
        }
    }

    @Test
    void unlinkOfOneNameLowersTheCountAndTheLastDropsTheEntry() throws Exception {
        Overlay ov = fx.open(indexOn());
        overwrite(ov, "d/a", "HELLO");
        ov.unlink("d/b");
        assertFalse(exists(ov, "d/b"));
        assertOneFile(ov, lowerIno, 2, "d/a", "d/c");
        assertTrue(upper.stat("d/b").isCharDevice(), "a whiteout hides the lower name");
        ov.unlink("d/a");
        assertOneFile(ov, lowerIno, 1, "d/c");
        assertEquals("HELLO", read(ov, "d/c"));
        ov.unlink("d/c");
        assertEquals(List.of(), index().list(""), "no name left: the index entry goes, as the kernel's");
        assertFalse(exists(ov, "d/a"));
        assertEquals(List.of("single"), ov.readdir("d").stream().map(DirEntry::latin1Name)
                .filter(n -> !n.startsWith(".")).toList());
    }

    @Test
    void unlinkOfANameNeverCopiedUpCountsToo() throws Exception {
        Overlay ov = fx.open(indexOn());
        ov.unlink("d/a");
        assertOneFile(ov, lowerIno, 2, "d/b", "d/c");
        assertTrue(upper.stat("d/a").isCharDevice(), "whited out, after its copy-up into the index (as the kernel)");
        assertEquals(1, index().list("").size());
        assertEquals("hello", read(ov, "d/b"));
        ov.rename("d/single", "d/b", 0);
        assertOneFile(ov, lowerIno, 1, "d/c");
        assertEquals("U+0", index().xattr(index().list("").get(0), NLINK), "the index its only upper link, one name left");
    }

    @Test
    void renameOfOneNameKeepsItOneFile() throws Exception {
        Overlay ov = fx.open(indexOn());
        overwrite(ov, "d/a", "HELLO");
        assertTrue(ov.rename("d/c", "f", 0), "a move");
        assertFalse(exists(ov, "d/c"));
        assertEquals("HELLO", read(ov, "f"));
        assertOneFile(ov, lowerIno, 3, "d/a", "d/b", "f");
        assertEquals(upper.stat("d/a").ino(), upper.stat("f").ino());
        assertEquals("U+0", upper.xattr("f", NLINK), "as the kernel counts: upper links 3 (index, a, f), overlay 3");

        // Two names of one inode: rename does nothing, as the VFS does for one inode (d/b not copied up yet).
        assertFalse(ov.rename("d/a", "d/b", 0), "nothing changed");
        assertFalse(upper.exists("d/b"), "d/b is still only in the lower layer");
        assertTrue(exists(ov, "d/a"));
        assertOneFile(ov, lowerIno, 3, "d/a", "d/b", "f");

        // Replacing a name of it by another file lowers its count.
        ov.rename("d/single", "d/b", 0);
        assertEquals("one", read(ov, "d/b"));
        assertOneFile(ov, lowerIno, 2, "d/a", "f");
    }

    @Test
    void hardLinksThroughTheOverlayCount() throws Exception {
        Overlay ov = fx.open(indexOn());
        ov.link("d/b", "d/e");
        assertOneFile(ov, lowerIno, 4, "d/a", "d/b", "d/c", "d/e");
        overwrite(ov, "d/c", "HELLO");
        assertEquals("HELLO", read(ov, "d/e"));
        assertOneFile(ov, lowerIno, 4, "d/a", "d/b", "d/c", "d/e");
    }

    @Test
    void withMetacopyTheIndexEntryHoldsMetadataUntilAWrite() throws Exception {
        Overlay ov = fx.open(fx.writableConfig().withFeatures(KernelFeatures.resolve(Map.of("index", "on",
                "metacopy", "on"))));
        ov.chmod("d/a", 0600);
        String origin = HexFormat.of().formatHex(upper.xattrBytes("d/a", ORIGIN));
        assertEquals("", index().xattr(origin, "trusted.overlay.metacopy"), "metadata only, as the kernel's");
        assertEquals(Linux.S_IFREG | 0600, ov.getattr("d/b").mode(), "every name shows the change");
        assertEquals("hello", read(ov, "d/c"));
        overwrite(ov, "d/c", "HELLO");
        assertEquals("HELLO", read(ov, "d/a"));
        assertEquals(null, upper.xattr("d/a", "trusted.overlay.metacopy"), "the data came up for every name");
        assertOneFile(ov, lowerIno, 3, "d/a", "d/b", "d/c");
        assertEquals(Linux.S_IFREG | 0600, ov.getattr("d/c").mode());
    }

    @Test
    void withoutIndexTheLinkBreaksAtCopyUp() throws Exception {
        Overlay ov = fx.open();
        overwrite(ov, "d/a", "HELLO");
        assertEquals("hello", read(ov, "d/b"));
        assertNotEquals(ov.getattr("d/a").ino(), ov.getattr("d/b").ino());
        assertFalse(Files.exists(fx.workDir().resolve("index")));
    }

    @Test
    void theUpperRootRecordsItsLowerAndAnotherLowerIsRefused() throws Exception {
        fx.open(indexOn()).close();
        assertNotNull(upper.xattrBytes("", ORIGIN));
        assertNotNull(index().xattrBytes("", "trusted.overlay.upper"));
        Path other = tmp.resolve("other");
        Files.createDirectories(other);
        OverlayConfig mixed = new OverlayConfig(List.of(other), java.util.Optional.of(upper.root()),
                java.util.Optional.of(fx.workDir()), true).withFeatures(KernelFeatures.resolve(Map.of("index", "on")));
        ConfigException e = assertThrows(ConfigException.class, () -> Overlay.open(mixed));
        assertTrue(e.getMessage().contains("failed to verify upper root origin"), e.getMessage());
        assertFalse(e.getMessage().contains("\n"));
        // index=off mounts it, as the kernel's.
        Overlay.open(new OverlayConfig(List.of(other), java.util.Optional.of(upper.root()),
                java.util.Optional.of(fx.workDir()), true)).close();
    }

    @Test
    void indexIsIgnoredWithoutAnUpperLayer() throws Exception {
        Overlay ov = fx.open(fx.readOnlyConfig().withFeatures(KernelFeatures.resolve(Map.of("index", "on"))));
        assertOneFile(ov, lowerIno, 3, "d/a", "d/b");
    }
}
