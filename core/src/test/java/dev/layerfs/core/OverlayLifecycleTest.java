package dev.layerfs.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.layerfs.core.model.Layer;
import dev.layerfs.core.testing.LowerLayersUnchanged;
import dev.layerfs.core.testing.OverlayFixture;
import dev.layerfs.core.testing.OverlayIo;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/** Opening, the layer order the stack reports, reopening on the same directories, and closing. */
@ExtendWith(LowerLayersUnchanged.class)
class OverlayLifecycleTest {
    @TempDir
    Path tmp;

    OverlayFixture fx;

    @BeforeEach
    void fixture() {
        fx = OverlayFixture.create(tmp, 3);
        fx.l1().file("f", "x");
    }

    @Test
    void theStackListsTheUpperFirstThenTheLowersTopDown() {
        Overlay ov = fx.open();
        List<Layer> layers = ov.stack().layers();
        assertEquals(4, layers.size());
        assertTrue(layers.get(0).upper());
        assertEquals(fx.upper().root(), layers.get(0).root());
        for (int i = 0; i < 3; i++) {
            assertFalse(layers.get(i + 1).upper());
            assertEquals(fx.lower(i).root(), layers.get(i + 1).root());
            assertEquals(i + 1, layers.get(i + 1).index());
        }
        assertEquals(fx.l1().root(), ov.stack().topLower().root());
    }

    @Test
    void closingTwiceDoesNotCloseAnotherOverlaysDescriptors() throws Exception {
        Overlay a = fx.open();
        a.close();
        Overlay b = fx.open();
        a.close();
        assertEquals(1, b.getattr("f").size(), "b's descriptors survived a second close of a");
        assertEquals("x", OverlayIo.read(b, "f"));
    }

    @Test
    void whatWasWrittenIsThereAfterReopening() throws Exception {
        Overlay a = fx.open();
        OverlayIo.write(a, "f", "changed");
        OverlayIo.create(a, "new", "n");
        a.unlink("f");
        a.mkdir("d", 0755, dev.layerfs.core.model.Caller.ROOT);
        a.close();
        Overlay b = fx.open();
        assertFalse(OverlayIo.exists(b, "f"));
        assertEquals("n", OverlayIo.read(b, "new"));
        assertEquals(List.of("d", "new"), OverlayIo.names(b, "/"));
        assertEquals(List.of(), fx.scratch().list(""));
    }

    @Test
    void noDescriptorIsLeftOpenAfterClose() throws Exception {
        fx.l1().file("d/g", "g");
        fx.l2().file("d/h", "h");
        Overlay ov = fx.open();
        OverlayIo.read(ov, "f");
        var r = ov.open("d/g", dev.layerfs.core.nativeio.Linux.O_RDONLY);
        OverlayIo.write(ov, "d/g", "moved the reader");
        ov.release(r);
        OverlayIo.names(ov, "d");
        ov.rename("d/h", "h2", 0);
        ov.unlink("f");
        OverlayIo.create(ov, "new", "n");
        ov.chmod("new", 0600);
        ov.close();
        assertEquals(List.of(), dev.layerfs.core.testing.FsAssert.descriptorsUnder(tmp));
    }
}
