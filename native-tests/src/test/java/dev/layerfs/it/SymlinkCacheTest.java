package dev.layerfs.it;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * On the kernel transport the kernel keeps a symbolic link's target in its page cache (FUSE_CACHE_SYMLINKS). A kept
 * target must never outlive a change made through the mount: each step reads the links (so the kernel keeps them),
 * changes one, and reads them again, with the same outcomes as on the kernel overlay.
 */
class SymlinkCacheTest {
    @RegisterExtension
    final MountExtension ext = new MountExtension();

    @Test
    void keptTargetsFollowEveryChangeAsOnTheKernelOverlay() {
        Layers base = ext.layers("links", 2);
        Sh.bash("""
                set -e
                mkdir -p "$L2/d" "$L1/d"
                ln -s lower-target "$L2/d/low"
                ln -s other "$L2/d/other"
                ln -s top-target "$L1/d/top"
                """, ext.root(), Map.of("L1", base.lower(0).toString(), "L2", base.lower(1).toString()))
                .assertOk();
        Layers kl = base.copyTo(ext.root().resolve("kernel"));
        Layers fl = base.copyTo(ext.root().resolve("layerfs"));
        KernelOverlay kernel = ext.mountKernel(kl, "");
        LayerfsMount layerfs = ext.mount(fl);
        String script = """
                show() { for l in d/*; do printf '%s -> %s\\n' "$l" "$(readlink "$l")"; done; echo --; }
                show; show
                chown -h 1:1 d/low; show
                rm d/top; ln -s new-top d/top; show
                mv d/other d/low; show
                ln -s made d/made; show
                mv d/made d/moved; ln -s again d/made; show
                """;
        String k = Sh.bash(script, kernel.mountPoint(), Map.of()).assertOk().stdout();
        assertEquals("""
                d/low -> other
                d/made -> again
                d/moved -> made
                d/top -> new-top
                --
                """, k.substring(k.lastIndexOf("--\n", k.length() - 4) + 3), "the last step on the kernel overlay");
        assertEquals(k, Sh.bash(script, layerfs.mountPoint(), Map.of()).assertOk().stdout(),
                "every step, kernel overlay and layerfs");
    }
}
