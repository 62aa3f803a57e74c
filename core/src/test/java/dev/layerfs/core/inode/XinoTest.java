package dev.layerfs.core.inode;

import static dev.layerfs.core.testing.OverlayIo.read;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import dev.layerfs.core.Overlay;
import dev.layerfs.core.handle.OpenFile;
import dev.layerfs.core.model.KernelFeatures;
import dev.layerfs.core.model.OverlayConfig;
import dev.layerfs.core.nativeio.Linux;
import dev.layerfs.core.nativeio.Stat;
import dev.layerfs.core.readdir.DirEntry;
import dev.layerfs.core.testing.LayerTree;
import dev.layerfs.core.testing.OverlayIo;
import dev.layerfs.core.testing.TmpfsMount;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Inode numbers where the layers span filesystems, composed as the kernel's xino: a lower layer on a tmpfs (fsid 1)
 * under an upper layer on the test directory's filesystem (fsid 0). tmpfs makes 64-bit file handles, so, as the
 * kernel overlay reports for this stack ("xino feature enabled using 2 upper inode bits"), the fsid takes the top
 * bit: a tmpfs object's number shows as {@code ino | 1 << 63}.
 */
class XinoTest {
    @TempDir
    Path tmp;

    private static void append(Overlay ov, String path, String more) throws Exception {
        OpenFile f = ov.open(path, Linux.O_WRONLY | Linux.O_APPEND);
        try {
            OverlayIo.writeAt(ov, f, more, ov.fstat(f).size());
        } finally {
            ov.release(f);
        }
    }

    private static void assertListingMatchesStat(Overlay ov, String dir) throws Exception {
        for (DirEntry e : ov.readdir(dir)) {
            String name = e.latin1Name();
            if (!name.equals(".") && !name.equals("..")) {
                String path = dir.isEmpty() ? name : dir + "/" + name;
                assertEquals(ov.getattr(path).ino(), e.ino(), "d_ino of " + path);
            }
        }
    }

    @Test
    void numbersCarryTheFilesystemAndSurviveCopyUpAndRemount() throws Exception {
        try (TmpfsMount lowerFs = TmpfsMount.mountOrSkip(tmp.resolve("lower"))) {
            LayerTree lower = new LayerTree(lowerFs.dir());
            lower.file("d/f", "f");
            lower.file("d/g", "g");
            lower.file("h1", "h");
            lower.hardLink("h1", "h2");
            Path upper = Files.createDirectories(tmp.resolve("upper"));
            Files.createDirectories(upper.resolve("d"));
            Files.writeString(upper.resolve("d/u"), "u");
            Path work = Files.createDirectories(tmp.resolve("work"));
            OverlayConfig config = new OverlayConfig(List.of(lowerFs.dir()), Optional.of(upper), Optional.of(work),
                    true).withFeatures(KernelFeatures.resolve(Map.of("xino", "on", "index", "on")));
            long top = 1L << 63;
            long f = lower.stat("d/f").ino() | top;
            long h = lower.stat("h1").ino() | top;
            try (Overlay ov = Overlay.open(config)) {
                assertEquals(f, ov.getattr("d/f").ino());
                assertEquals(lower.stat("d").ino() | top, ov.getattr("d").ino(), "a merged directory: its lower's");
                assertEquals(Files.readAttributes(upper.resolve("d/u"), "unix:ino").get("ino"),
                        ov.getattr("d/u").ino(), "an upper object (fsid 0): its own number");
                assertListingMatchesStat(ov, "d");
                append(ov, "d/f", "more");
                ov.chmod("d/g", 0600);
                append(ov, "h1", "more");
                assertEquals(f, ov.getattr("d/f").ino(), "the origin across filesystems keeps the number");
                assertEquals(h, ov.getattr("h1").ino());
                assertEquals(h, ov.getattr("h2").ino(), "index=on across filesystems: one file");
                assertEquals("hmore", read(ov, "h2"));
                assertListingMatchesStat(ov, "d");
                assertListingMatchesStat(ov, "");
            }
            try (Overlay again = Overlay.open(config)) {
                assertEquals(f, again.getattr("d/f").ino());
                assertEquals(lower.stat("d/g").ino() | top, again.getattr("d/g").ino());
                Stat h2 = again.getattr("h2");
                assertEquals(h, h2.ino());
                assertEquals(2, h2.nlink());
                assertNotEquals(again.getattr("d/u").ino(), again.getattr("d/f").ino());
                assertListingMatchesStat(again, "d");
            }
        }
    }

    @Test
    void oneFilesystemShowsRealNumbersWhateverXinoSays() throws Exception {
        Path lower = Files.createDirectories(tmp.resolve("lower"));
        Files.writeString(lower.resolve("f"), "f");
        Path upper = Files.createDirectories(tmp.resolve("upper"));
        Path work = Files.createDirectories(tmp.resolve("work"));
        OverlayConfig config = OverlayConfig.writable(List.of(lower), upper, work)
                .withFeatures(KernelFeatures.resolve(Map.of("xino", "on")));
        try (Overlay ov = Overlay.open(config)) {
            assertEquals(Files.readAttributes(lower.resolve("f"), "unix:ino").get("ino"), ov.getattr("f").ino());
        }
    }
}
