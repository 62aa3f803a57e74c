package dev.layerfs.core.lookup;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.layerfs.core.marker.PrivateXattrs;
import dev.layerfs.core.model.KernelFeatures;
import dev.layerfs.core.model.LayerStack;
import dev.layerfs.core.model.OverlayConfig;
import dev.layerfs.core.testing.OverlayFixture;
import dev.layerfs.core.whiteout.WhiteoutCodec;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The directory cache holds a bounded number of real directories, and lookups stay right when it starts over. */
class LookupCacheBoundTest {
    @TempDir
    Path tmp;

    @Test
    void theCacheStaysWithinItsBoundAndLookupsStayRight() throws Exception {
        OverlayFixture fx = OverlayFixture.create(tmp, 3);
        for (int i = 0; i < 20; i++) {
            // Each d<i> is merged from two layers (weight 2), d3 from three; d<i>/only<i> lies in one (d3/only3: two).
            fx.l1().file("d" + i + "/a", "one");
            fx.l2().file("d" + i + "/only" + i + "/f" + i, "two");
        }
        fx.l3().file("d3/only3/g", "three");
        try (LayerStack stack = LayerStack.open(OverlayConfig.readOnly(
                List.of(fx.l1().root(), fx.l2().root(), fx.l3().root())))) {
            Lookup lookup = new Lookup(stack, new WhiteoutCodec(new PrivateXattrs()), KernelFeatures.DEFAULT, 7);
            for (int round = 0; round < 2; round++) {
                for (int i = 0; i < 20; i++) {
                    Entry dir = lookup.resolve("d" + i + "/only" + i);
                    assertTrue(dir.isDirectory());
                    assertEquals(i == 3 ? 2 : 1, dir.reals().size(), "d" + i + "/only" + i);
                    Entry file = lookup.resolve("d" + i + "/only" + i + "/f" + i);
                    assertTrue(file.exists() && !file.isDirectory());
                    assertEquals(i == 3 ? 3 : 2, lookup.resolve("d" + i).reals().size());
                    assertFalse(lookup.resolve("d" + i + "/missing").exists());
                    assertTrue(lookup.cachedReals() <= 7, "cached " + lookup.cachedReals());
                }
            }
            lookup.invalidate("");
            assertEquals(0, lookup.cachedReals());

            Lookup roomy = new Lookup(stack, new WhiteoutCodec(new PrivateXattrs()), KernelFeatures.DEFAULT, 100);
            roomy.resolve("d3/only3/g");
            assertEquals(3 + 3 + 2, roomy.cachedReals(), "the root, d3 and d3/only3");
            roomy.invalidate("d3");
            assertEquals(3, roomy.cachedReals(), "the root stays, d3 and what is below it went");
        }
    }
}
