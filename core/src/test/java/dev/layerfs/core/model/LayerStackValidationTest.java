package dev.layerfs.core.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.layerfs.core.Overlay;
import dev.layerfs.core.testing.LowerLayersUnchanged;
import dev.layerfs.core.testing.OverlayFixture;
import dev.layerfs.core.testing.TmpfsMount;
import dev.layerfs.core.testing.TreeSnapshot;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * Bad stacks are refused before anything is written: a ConfigException whose one-line message names the
 * offending path, and the directories exactly as they were.
 */
@ExtendWith(LowerLayersUnchanged.class)
class LayerStackValidationTest {
    @TempDir
    Path tmp;

    Path l1;
    Path l2;
    Path upper;
    Path work;

    @BeforeEach
    void dirs() throws Exception {
        l1 = Files.createDirectories(tmp.resolve("l1"));
        l2 = Files.createDirectories(tmp.resolve("l2"));
        upper = Files.createDirectories(tmp.resolve("upper"));
        work = Files.createDirectories(tmp.resolve("work"));
        Files.writeString(l1.resolve("f"), "x");
    }

    /** Opens the config, expects a ConfigException naming {@code named}, and checks that nothing changed. */
    private ConfigException refused(OverlayConfig config, Path named) {
        TreeSnapshot before = TreeSnapshot.of(tmp);
        ConfigException e = assertThrows(ConfigException.class, () -> Overlay.open(config).close());
        String msg = e.getMessage();
        assertFalse(msg.contains("\n"), () -> "not one line: " + msg);
        if (named != null) {
            assertTrue(msg.contains(named.toString()), () -> "message does not name " + named + ": " + msg);
        }
        assertEquals(List.of(), before.diff(TreeSnapshot.of(tmp)), "something was created or changed on disk");
        return e;
    }

    @Test
    void missingLowerLayer() {
        Path missing = tmp.resolve("nope");
        refused(OverlayConfig.writable(List.of(l1, missing), upper, work), missing);
    }

    @Test
    void missingUpperLayer() {
        Path missing = tmp.resolve("nope");
        refused(OverlayConfig.writable(List.of(l1), missing, work), missing);
    }

    @Test
    void missingWorkdir() {
        Path missing = tmp.resolve("nope");
        refused(OverlayConfig.writable(List.of(l1), upper, missing), missing);
    }

    @Test
    void layerThatIsNotADirectory() {
        Path file = l1.resolve("f");
        ConfigException e = refused(OverlayConfig.readOnly(List.of(file, l2)), file);
        assertTrue(e.getMessage().contains("not a directory"), e.getMessage());
    }

    @Test
    void upperThatIsNotADirectory() {
        Path file = l1.resolve("f");
        refused(OverlayConfig.writable(List.of(l2), file, work), file);
    }

    @Test
    void upperWithoutWorkdir() {
        refused(new OverlayConfig(List.of(l1), Optional.of(upper), Optional.empty(), true), upper);
    }

    @Test
    void workdirWithoutUpper() {
        refused(new OverlayConfig(List.of(l1), Optional.empty(), Optional.of(work), true), work);
    }

    @Test
    void noLowerLayers() {
        ConfigException e = refused(OverlayConfig.writable(List.of(), upper, work), null);
        assertTrue(e.getMessage().contains("lowerdir"), e.getMessage());
    }

    @Test
    void workdirOnAnotherFilesystem() throws Exception {
        try (TmpfsMount other = TmpfsMount.mountOrSkip(tmp.resolve("otherfs"))) {
            ConfigException e = refused(OverlayConfig.writable(List.of(l1), upper, other.dir()), other.dir());
            assertTrue(e.getMessage().contains("another filesystem"), e.getMessage());
        }
    }

    @Test
    void workdirInsideUpper() throws Exception {
        Path inside = Files.createDirectories(upper.resolve("w"));
        ConfigException e = refused(OverlayConfig.writable(List.of(l1), upper, inside), inside);
        assertTrue(e.getMessage().contains(upper.toString()), e.getMessage());
    }

    @Test
    void upperInsideWorkdir() throws Exception {
        Path inside = Files.createDirectories(work.resolve("u"));
        refused(OverlayConfig.writable(List.of(l1), inside, work), inside);
    }

    @Test
    void sameLowerTwice() {
        refused(OverlayConfig.readOnly(List.of(l1, l2, l1)), l1);
    }

    @Test
    void sameDirectoryThroughASymlinkIsStillTheSame() throws Exception {
        Path alias = Files.createSymbolicLink(tmp.resolve("alias"), l1);
        refused(OverlayConfig.readOnly(List.of(l1, alias)), l1);
    }

    @Test
    void upperIsALower() {
        refused(OverlayConfig.writable(List.of(l1, upper), upper, work), upper);
    }

    @Test
    void workdirIsTheUpper() {
        refused(OverlayConfig.writable(List.of(l1), upper, upper), upper);
    }

    @Test
    void lowerNestedInsideAnotherLower() throws Exception {
        Path nested = Files.createDirectories(l2.resolve("sub"));
        refused(OverlayConfig.readOnly(List.of(l1, nested, l2)), nested);
    }

    @Test
    void lowerContainingTheUpper() throws Exception {
        Path nestedUpper = Files.createDirectories(l2.resolve("up"));
        refused(OverlayConfig.writable(List.of(l1, l2), nestedUpper, work), nestedUpper);
    }

    @Test
    void aGoodStackWritesOnlyWorkdirWork() throws Exception {
        OverlayFixture fx = OverlayFixture.create(tmp.resolve("good"));
        fx.l1().file("a", "1");
        TreeSnapshot before = TreeSnapshot.of(fx.base());
        Overlay ov = fx.open();
        assertFalse(ov.readOnly());
        List<String> diff = before.diff(TreeSnapshot.of(fx.base()));
        assertEquals(2, diff.size(), () -> "expected only work/work to appear (and work's mtime): " + diff);
        assertTrue(diff.stream().anyMatch(d -> d.startsWith("created work/work")), diff::toString);
        assertTrue(diff.stream().anyMatch(d -> d.startsWith("changed work:")), diff::toString);
    }

    @Test
    void openingEmptiesLeftoversOfTheWorkDirectory() throws Exception {
        OverlayFixture fx = OverlayFixture.create(tmp.resolve("good"));
        Files.createDirectories(fx.workDir().resolve("work/#1/deep"));
        Files.writeString(fx.workDir().resolve("work/#1/deep/f"), "stale");
        Files.writeString(fx.workDir().resolve("work/#2"), "stale");
        fx.open();
        assertEquals(List.of(), fx.scratch().list(""));
    }

    @Test
    void aReadOnlyStackNeedsNoUpper() {
        OverlayFixture fx = OverlayFixture.create(tmp.resolve("ro"));
        Overlay ov = fx.openReadOnly();
        assertTrue(ov.readOnly());
        assertEquals(List.of(), fx.upper().list(""));
        assertEquals(List.of(), List.of(fx.workDir().toFile().list()));
    }
}
