package dev.layerfs.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.layerfs.image.analysis.Blame;
import dev.layerfs.image.analysis.Waste;
import dev.layerfs.image.extract.Posix;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** blame and waste on three layers made by hand: a file overwritten, a file deleted, a directory deleted. */
class AnalysisTest {
    @TempDir
    Path tmp;

    private List<Path> layers() throws Exception {
        assumeTrue("root".equals(System.getProperty("user.name")), "whiteouts are char devices: root only");
        Path l1 = Files.createDirectories(tmp.resolve("l1/d"));
        Files.write(l1.resolve("f"), new byte[1000]);
        Files.write(l1.resolve("gone"), new byte[300]);
        Files.write(Files.createDirectories(tmp.resolve("l1/dir")).resolve("x"), new byte[50]);
        Path l2 = Files.createDirectories(tmp.resolve("l2/d"));
        Files.write(l2.resolve("f"), new byte[10]);
        Posix.mknod(l2.resolve("gone"), Posix.S_IFCHR, 0, 0, 0);
        Posix.mknod(tmp.resolve("l2/dir"), Posix.S_IFCHR, 0, 0, 0);
        Path l3 = Files.createDirectories(tmp.resolve("l3/d"));
        Files.write(l3.resolve("f"), new byte[20]);
        return List.of(tmp.resolve("l1"), tmp.resolve("l2"), l3.getParent());
    }

    @Test
    void wasteCountsOverwrittenAndDeletedFilesAsDiveDoes() throws Exception {
        Waste.Report r = Waste.of(layers());
        assertEquals(List.of("/d/f", "/d/gone"), r.entries().stream().map(Waste.Entry::path).toList());
        assertEquals(1030, r.entries().get(0).totalBytes());
        assertEquals(List.of(0, 1, 2), r.entries().get(0).layers());
        assertEquals(300, r.entries().get(1).totalBytes());
        assertEquals(1330, r.wastedBytes());
        // per path, smallest over all: f 10, gone 0, dir (whiteout counting the 50 bytes it deleted) 50, x 50
        assertEquals((10 + 0 + 50 + 50) / (double) (1030 + 300 + 50 + 50), r.efficiency(), 1e-9);
    }

    @Test
    void blameNamesTheLastWriterAndWhatItShadows() throws Exception {
        List<Blame.Line> lines = Blame.of(layers(), List.of("/d/f", "d/gone", "/dir", "/nope"));
        assertEquals(new Blame.Line("/d/f", 2, false, List.of(1, 0)), lines.get(0));
        assertEquals(new Blame.Line("/d/gone", 1, true, List.of(0)), lines.get(1));
        assertEquals(new Blame.Line("/dir", 1, true, List.of(0)), lines.get(2));
        assertEquals(-1, lines.get(3).writer());
    }
}
