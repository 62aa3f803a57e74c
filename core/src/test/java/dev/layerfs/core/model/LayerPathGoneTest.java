package dev.layerfs.core.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import dev.layerfs.core.Overlay;
import dev.layerfs.core.testing.LayerTree.Opaque;
import dev.layerfs.core.testing.OverlayFixture;
import dev.layerfs.core.testing.OverlayIo;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Layers are reached through the descriptors opened at mount, never through the paths given: container tools
 * hand layers over through a temporary idmapped mount that they detach as soon as the mount program has
 * started. Here the layers are renamed away after opening, which makes their given paths vanish in the same way.
 */
class LayerPathGoneTest {
    @TempDir
    Path tmp;

    @Test
    void lookupsXattrsOpaqueMarkersAndCopyUpWorkAfterTheGivenPathsAreGone() throws Exception {
        OverlayFixture fx = OverlayFixture.create(tmp, 2);
        fx.l2().file("d/below", "b");
        fx.l1().opaqueDir("d", Opaque.TRUSTED);
        fx.l1().file("d/f", "f").xattr("user.tag", "v");
        fx.l1().settle();
        fx.l2().settle();
        try (Overlay ov = Overlay.open(fx.writableConfig())) {
            for (int i = 0; i < 2; i++) {
                Path given = fx.lower(i).root();
                Files.move(given, given.resolveSibling(given.getFileName() + "-moved"));
            }

            assertEquals(List.of("f"), OverlayIo.names(ov, "d"), "the opaque marker was read");
            assertArrayEquals("v".getBytes(), ov.getxattr("d/f", "user.tag"));
            assertEquals(List.of("user.tag"), ov.listxattr("d/f"));
            OverlayIo.write(ov, "d/f", "changed");
            assertEquals("changed", OverlayIo.read(ov, "d/f"));
            assertEquals("v", fx.upper().xattr("d/f", "user.tag"), "copy-up kept the xattr");
            ov.unlink("d/f");
            assertFalse(OverlayIo.exists(ov, "d/f"));
        }
    }
}
