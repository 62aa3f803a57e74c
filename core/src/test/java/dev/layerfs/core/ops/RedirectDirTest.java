package dev.layerfs.core.ops;

import static dev.layerfs.core.testing.FsAssert.assertDeviceWhiteout;
import static dev.layerfs.core.testing.FsAssert.assertErrno;
import static dev.layerfs.core.testing.FsAssert.assertScratchEmpty;
import static dev.layerfs.core.testing.OverlayIo.create;
import static dev.layerfs.core.testing.OverlayIo.exists;
import static dev.layerfs.core.testing.OverlayIo.names;
import static dev.layerfs.core.testing.OverlayIo.read;
import static dev.layerfs.core.testing.OverlayIo.write;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.layerfs.core.Overlay;
import dev.layerfs.core.error.Errno;
import dev.layerfs.core.model.Caller;
import dev.layerfs.core.model.ConfigException;
import dev.layerfs.core.model.KernelFeatures;
import dev.layerfs.core.model.OverlayConfig;
import dev.layerfs.core.nativeio.Linux;
import dev.layerfs.core.testing.LayerTree;
import dev.layerfs.core.testing.LowerLayersUnchanged;
import dev.layerfs.core.testing.OverlayFixture;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * redirect_dir: renaming merged and lower directories with {@code overlay.redirect} (as the kernel writes it),
 * lookups following redirects, and the option's modes and refusals.
 */
@ExtendWith(LowerLayersUnchanged.class)
class RedirectDirTest {
    private static final String REDIRECT = "trusted.overlay.redirect";

    @TempDir
    Path tmp;

    OverlayFixture fx;
    LayerTree upper;

    @BeforeEach
    void fixture() {
        fx = OverlayFixture.create(tmp);
        upper = fx.upper();
    }

    private OverlayConfig with(String redirectDir) throws ConfigException {
        return fx.writableConfig().withFeatures(KernelFeatures.resolve(Map.of("redirect_dir", redirectDir)));
    }

    private void lowerTree() {
        fx.l1().dir("a").mode(0750);
        fx.l1().file("a/g", "g");
        fx.l1().file("a/sub/f", "lower f");
        fx.l2().file("a/deep", "from l2");
    }

    @Test
    void withoutRedirectDirOnALowerDirectoryIsExdev() throws Exception {
        lowerTree();
        Overlay ov = fx.open();
        assertErrno(Errno.EXDEV, () -> ov.rename("a", "b", 0));
        assertErrno(Errno.EXDEV, () -> fx.open(with("follow")).rename("a", "b", 0));
    }

    @Test
    void aLowerTreeRenamedInItsDirectoryKeepsItsContentThroughARelativeRedirect() throws Exception {
        lowerTree();
        Overlay ov = fx.open(with("on"));
        long ino = ov.getattr("a").ino();
        ov.rename("a", "b", 0);
        assertEquals("a", upper.xattr("b", REDIRECT));
        assertNull(upper.xattr("b", "trusted.overlay.opaque"));
        assertDeviceWhiteout(upper, "a");
        assertEquals(List.of(), upper.list("b"), "only the directory itself was copied up");
        assertFalse(exists(ov, "a"));
        assertEquals(List.of("deep", "g", "sub"), names(ov, "b").stream().sorted().toList());
        assertEquals("lower f", read(ov, "b/sub/f"));
        assertEquals("from l2", read(ov, "b/deep"), "the redirect is followed through every lower layer");
        assertEquals(Linux.S_IFDIR | 0750, ov.getattr("b").mode());
        assertEquals(ino, ov.getattr("b").ino(), "the directory keeps its number");

        // Copy-up inside the moved tree: the data comes from the lower path, the copy goes to the new one.
        write(ov, "b/sub/f", "new f");
        assertEquals("new f", read(ov, "b/sub/f"));
        assertEquals("new f", upper.read("b/sub/f"));
        assertEquals("lower f", fx.l1().read("a/sub/f"));
        create(ov, "b/sub/h", "h");
        assertEquals(List.of("f", "h"), names(ov, "b/sub").stream().sorted().toList());
        assertScratchEmpty(fx);

        Overlay again = fx.open(with("off"));
        assertEquals("g", read(again, "b/g"), "a remount follows the redirect (redirect_dir=off follows)");
        assertEquals("new f", read(again, "b/sub/f"));
        assertFalse(exists(again, "a"));
    }

    @Test
    void aMoveToAnotherDirectoryWritesAnAbsoluteRedirectThatLaterMovesKeep() throws Exception {
        lowerTree();
        Overlay ov = fx.open(with("on"));
        ov.mkdir("n", 0755, Caller.ROOT);
        ov.mkdir("n/m", 0755, Caller.ROOT);
        ov.rename("a", "n/m/a2", 0);
        assertEquals("/a", upper.xattr("n/m/a2", REDIRECT));
        ov.rename("n/m/a2", "n/m/a3", 0);
        assertEquals("/a", upper.xattr("n/m/a3", REDIRECT), "an absolute redirect stays");
        ov.rename("n/m", "x", 0);
        assertEquals("lower f", read(ov, "x/a3/sub/f"));
        assertEquals("from l2", read(ov, "x/a3/deep"));
        assertFalse(exists(ov, "a"));
        assertEquals(List.of("n", "x"), names(ov, "/").stream().sorted().toList());
    }

    @Test
    void aDirectoryInsideARedirectedOneGetsItsPathThroughItsParentsRedirect() throws Exception {
        lowerTree();
        Overlay ov = fx.open(with("on"));
        ov.rename("a", "b", 0);
        ov.rename("b/sub", "c", 0);
        assertEquals("/a/sub", upper.xattr("c", REDIRECT));
        assertDeviceWhiteout(upper, "b/sub");
        assertEquals("lower f", read(ov, "c/f"));
        assertEquals(List.of("deep", "g"), names(ov, "b").stream().sorted().toList());
        ov.rename("b", "b2", 0);
        assertEquals("a", upper.xattr("b2", REDIRECT), "a relative redirect stays within its directory");
        assertEquals("g", read(ov, "b2/g"));
    }

    @Test
    void aMergedDirectoryMovesToo() throws Exception {
        lowerTree();
        upper.file("a/u", "upper");
        Overlay ov = fx.open(with("on"));
        ov.rename("a", "z", 0);
        assertEquals("a", upper.xattr("z", REDIRECT));
        assertEquals(List.of("deep", "g", "sub", "u"), names(ov, "z").stream().sorted().toList());
        assertEquals("upper", read(ov, "z/u"));
    }

    @Test
    void anExchangeOfTwoLowerDirectoriesRedirectsBoth() throws Exception {
        fx.l1().file("p/1", "p");
        fx.l1().file("q/2", "q");
        Overlay ov = fx.open(with("on"));
        ov.rename("p", "q", Linux.RENAME_EXCHANGE);
        assertEquals("p", upper.xattr("q", REDIRECT));
        assertEquals("q", upper.xattr("p", REDIRECT));
        assertEquals("p", read(ov, "q/1"));
        assertEquals("q", read(ov, "p/2"));
        assertFalse(exists(ov, "p/1"));
    }

    @Test
    void aRenamedDirectoryReplacesAnEmptyLowerOneWithoutMergingWithIt() throws Exception {
        lowerTree();
        fx.l1().dir("e");
        Overlay ov = fx.open(with("on"));
        ov.rename("a", "e", 0);
        assertEquals(List.of("deep", "g", "sub"), names(ov, "e").stream().sorted().toList());
        assertFalse(exists(ov, "a"));
    }

    @Test
    void aMovedDirectoryEmptiedThroughTheOverlayCanBeRemoved() throws Exception {
        fx.l1().file("a/f", "x");
        Overlay ov = fx.open(with("on"));
        ov.rename("a", "b", 0);
        assertErrno(Errno.ENOTEMPTY, () -> ov.rmdir("b"));
        ov.unlink("b/f");
        ov.rmdir("b");
        assertFalse(exists(ov, "b"));
        assertFalse(upper.exists("b"));
        assertFalse(exists(ov, "a"));
        assertEquals(List.of(), names(ov, "/"));
    }

    @Test
    void nofollowRefusesALookupThroughARedirect() throws Exception {
        lowerTree();
        try (Overlay ov = Overlay.open(with("on"))) {
            ov.rename("a", "b", 0);
        }
        Overlay nofollow = fx.open(with("nofollow"));
        assertErrno(Errno.EPERM, () -> nofollow.getattr("b"));
    }

    @Test
    void redirectsWrittenInALowerLayerAreFollowed() throws Exception {
        // A stack whose upper layer (with redirects) became a lower layer: l1 holds b -> "a" of l2.
        fx.l2().file("a/f", "l2");
        fx.l1().dir("b").xattr(REDIRECT, "a");
        fx.l1().whiteout("a");
        Overlay ov = fx.open(with("follow"));
        assertEquals("l2", read(ov, "b/f"));
        assertFalse(exists(ov, "a"));
    }

    @Test
    void invalidRedirectsAreIgnoredAsByTheKernel() throws Exception {
        fx.l1().file("a/f", "x");
        upper.dir("b").xattr(REDIRECT, "a/f");
        Overlay ov = fx.open(with("on"));
        assertEquals(List.of(), names(ov, "b"));
    }

    @Test
    void withRedirectDirOnNewDirectoriesInMergedOnesAreOpaqueAsTheKernelMakesThem() throws Exception {
        lowerTree();
        upper.file("a/u", "upper");
        upper.dir("uponly");
        Overlay ov = fx.open(with("on"));
        ov.mkdir("n", 0755, Caller.ROOT);
        ov.mkdir("a/m", 0755, Caller.ROOT);
        ov.mkdir("uponly/x", 0755, Caller.ROOT);
        assertEquals("y", upper.xattr("n", "trusted.overlay.opaque"));
        assertEquals("y", upper.xattr("a/m", "trusted.overlay.opaque"));
        assertNull(upper.xattr("uponly/x", "trusted.overlay.opaque"), "its parent is not merged");
        Overlay off = fx.open(with("off"));
        off.mkdir("n2", 0755, Caller.ROOT);
        assertNull(upper.xattr("n2", "trusted.overlay.opaque"), "without the features, as the kernel");
    }

    @Test
    void aMergedDirectoryWithoutAnOriginGetsOneAtLookupAsFromTheKernel() throws Exception {
        lowerTree();
        upper.file("a/u", "upper");
        Overlay ov = fx.open(with("on"));
        assertEquals(List.of("u"), upper.list("a"));
        assertNull(upper.xattr("a", "trusted.overlay.origin"));
        ov.getattr("a");
        assertTrue(upper.xattr("a", "trusted.overlay.origin") != null, "the origin was recorded");
        assertEquals("y", upper.xattr("", "trusted.overlay.impure"), "its parent is impure");
    }

    @Test
    void aFileOpenInAMovedTreeReadsWhatIsWrittenThroughItsNewName() throws Exception {
        lowerTree();
        Overlay ov = fx.open(with("on"));
        dev.layerfs.core.handle.OpenFile f = ov.open("a/sub/f", Linux.O_RDONLY);
        try {
            ov.rename("a", "b", 0);
            write(ov, "b/sub/f", "changed");
            assertEquals("changed", dev.layerfs.core.testing.OverlayIo.readAll(ov, f),
                    "the open file followed its copy-up, as on the kernel overlay");
        } finally {
            ov.release(f);
        }
    }

    @Test
    void aRenameOntoAnUpperDirectoryThatIsNotEmptyCopiesTheSourceUpFirstAsTheKernel() throws Exception {
        lowerTree();
        fx.l1().file("full/x", "x");
        upper.file("upfull/y", "y");
        Overlay ov = fx.open(with("on"));
        long links = ov.getattr("a").nlink();
        assertErrno(Errno.ENOTEMPTY, () -> ov.rename("a", "full", 0));
        assertFalse(upper.exists("a"), "a target with lower content is found not empty first");
        assertEquals(links, ov.getattr("a").nlink());
        assertErrno(Errno.ENOTEMPTY, () -> ov.rename("a", "upfull", 0));
        assertEquals("a", upper.xattr("a", REDIRECT), "an upper target fails in the upper rename, after it");
        assertEquals(1, ov.getattr("a").nlink(), "now merged, as on the kernel overlay");
        assertEquals(List.of("deep", "g", "sub"), names(ov, "a").stream().sorted().toList());
    }

    @Test
    void optionsFollowTheKernelsRules() throws Exception {
        assertEquals(KernelFeatures.RedirectDir.FOLLOW, KernelFeatures.DEFAULT.redirectDir());
        assertEquals(KernelFeatures.RedirectDir.FOLLOW, KernelFeatures.resolve(Map.of("redirect_dir", "off"))
                .redirectDir());
        assertEquals(KernelFeatures.RedirectDir.NOFOLLOW,
                KernelFeatures.resolve(Map.of("redirect_dir", "nofollow")).redirectDir());
        assertTrue(KernelFeatures.resolve(Map.of("redirect_dir", "on")).redirectDir().creates());
        assertEquals("malformed option redirect_dir=maybe: expected on, follow, nofollow or off",
                assertThrows(ConfigException.class, () -> KernelFeatures.resolve(Map.of("redirect_dir", "maybe")))
                        .getMessage());
        assertTrue(assertThrows(ConfigException.class,
                () -> KernelFeatures.resolve(Map.of("metacopy", "on", "redirect_dir", "follow"))).getMessage()
                .startsWith("conflicting options: metacopy=on,redirect_dir=follow"));
        assertTrue(KernelFeatures.resolve(Map.of("index", "on")).index());
        assertTrue(KernelFeatures.resolve(Map.of("index", "on", "metacopy", "on", "xino", "on")).index());
        assertTrue(assertThrows(ConfigException.class, () -> KernelFeatures.resolve(Map.of("nfs_export", "on")))
                .getMessage().startsWith("nfs_export=on is not implemented"));
        assertEquals(KernelFeatures.DEFAULT, KernelFeatures.resolve(Map.of("nfs_export", "off")));
        assertEquals("malformed option index=yes: expected on or off",
                assertThrows(ConfigException.class, () -> KernelFeatures.resolve(Map.of("index", "yes"))).getMessage());
        assertTrue(KernelFeatures.resolve(Map.of("metacopy", "on", "redirect_dir", "on")).metacopy());
        assertEquals(KernelFeatures.DEFAULT, KernelFeatures.resolve(Map.of("index", "off", "metacopy", "off",
                "xino", "auto")));
        assertThrows(ConfigException.class, () -> KernelFeatures.resolve(Map.of("xino", "sometimes")));
    }
}
