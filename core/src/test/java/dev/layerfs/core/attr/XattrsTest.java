package dev.layerfs.core.attr;

import static dev.layerfs.core.testing.FsAssert.assertErrno;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.layerfs.core.Overlay;
import dev.layerfs.core.error.Errno;
import dev.layerfs.core.nativeio.Linux;
import dev.layerfs.core.testing.LayerTree;
import dev.layerfs.core.testing.LayerTree.Opaque;
import dev.layerfs.core.testing.LowerLayersUnchanged;
import dev.layerfs.core.testing.OverlayFixture;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Extended attributes through the merged view. The overlay's private ones ({@code trusted.overlay.*},
 * {@code user.overlay.*}, {@code user.fuseoverlayfs.*}) are hidden (ENODATA) and cannot be set or removed
 * (EPERM): a deliberate difference from kernels since 6.7, which store them escaped.
 */
@ExtendWith(LowerLayersUnchanged.class)
class XattrsTest {
    static final List<String> PRIVATE = List.of("trusted.overlay.opaque", "trusted.overlay.foo",
            "user.overlay.foo", "user.fuseoverlayfs.foo");

    @TempDir
    Path tmp;

    OverlayFixture fx;
    LayerTree upper;

    @BeforeEach
    void fixture() {
        fx = OverlayFixture.create(tmp);
        upper = fx.upper();
        fx.l1().file("f", "x").xattr("user.a", "1").xattr("trusted.t", "2").xattr("user.overlay.foo", "p")
                .xattr("trusted.overlay.origin", "o").xattr("user.fuseoverlayfs.foo", "q");
        fx.l1().opaqueDir("od", Opaque.TRUSTED).xattr("user.d", "d");
        fx.l2().dir("od");
    }

    private static byte[] b(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void getAndListShowOrdinaryXattrsAndHidePrivateOnes() throws Exception {
        Overlay ov = fx.open();
        assertArrayEquals(b("1"), ov.getxattr("f", "user.a"));
        assertArrayEquals(b("2"), ov.getxattr("f", "trusted.t"));
        assertEquals(List.of("trusted.t", "user.a"), ov.listxattr("f").stream().sorted().toList());
        assertEquals(List.of("user.d"), ov.listxattr("od"), "the real opaque marker does not show");
        assertFalse(upper.exists("f"), "reading xattrs copies nothing up");
    }

    @ParameterizedTest
    @ValueSource(strings = {"trusted.overlay.opaque", "trusted.overlay.origin", "user.overlay.foo",
            "user.fuseoverlayfs.foo"})
    void privateXattrsReadAsAbsent(String name) throws Exception {
        Overlay ov = fx.open();
        assertErrno(Errno.ENODATA, () -> ov.getxattr("f", name));
        assertErrno(Errno.ENODATA, () -> ov.getxattr("od", name));
    }

    @Test
    void privateXattrsCannotBeSetOrRemoved() throws Exception {
        Overlay ov = fx.open();
        for (String name : PRIVATE) {
            assertErrno(Errno.EPERM, () -> ov.setxattr("f", name, b("y"), 0), name);
            assertErrno(Errno.EPERM, () -> ov.setxattr("od", name, b("n"), 0), name);
            assertErrno(Errno.EPERM, () -> ov.removexattr("od", name), name);
            assertErrno(Errno.EPERM, () -> ov.removexattr("f", name), name);
        }
        assertFalse(upper.exists("f"), "a refused set copies nothing up");
        assertFalse(upper.exists("od"));
    }

    @Test
    void settingCopiesUpAndTheFlagsWork() throws Exception {
        Overlay ov = fx.open();
        ov.setxattr("f", "user.new", b("v"), 0);
        assertEquals("v", upper.xattr("f", "user.new"));
        assertEquals("1", upper.xattr("f", "user.a"), "existing xattrs were copied");
        assertNull(upper.xattr("f", "user.overlay.foo"), "private xattrs were not");
        assertArrayEquals(b("v"), ov.getxattr("f", "user.new"));
        assertErrno(Errno.EEXIST, () -> ov.setxattr("f", "user.new", b("w"), Linux.XATTR_CREATE));
        assertErrno(Errno.ENODATA, () -> ov.setxattr("f", "user.absent", b("w"), Linux.XATTR_REPLACE));
        ov.setxattr("f", "user.new", b("w"), Linux.XATTR_REPLACE);
        assertArrayEquals(b("w"), ov.getxattr("f", "user.new"));
        ov.setxattr("f", "user.empty", new byte[0], Linux.XATTR_CREATE);
        assertArrayEquals(new byte[0], ov.getxattr("f", "user.empty"));
        ov.setxattr("f", "trusted.mine", b("t"), 0);
        assertArrayEquals(b("t"), ov.getxattr("f", "trusted.mine"));
    }

    @Test
    void aLargeValueRoundTrips() throws Exception {
        Overlay ov = fx.open();
        byte[] big = new byte[3000];
        for (int i = 0; i < big.length; i++) {
            big[i] = (byte) i;
        }
        ov.setxattr("f", "user.big", big, 0);
        assertArrayEquals(big, ov.getxattr("f", "user.big"));
    }

    @Test
    void removingCopiesUpAndAbsentNamesAreEnodata() throws Exception {
        Overlay ov = fx.open();
        assertErrno(Errno.ENODATA, () -> ov.removexattr("f", "user.absent"));
        assertFalse(upper.exists("f"));
        ov.removexattr("f", "user.a");
        assertErrno(Errno.ENODATA, () -> ov.getxattr("f", "user.a"));
        assertTrue(upper.exists("f"));
        assertEquals(List.of("trusted.t"), ov.listxattr("f"));
        assertEquals("1", fx.l1().xattr("f", "user.a"));
    }

    @Test
    void aSetOnAnOpaqueDirectoryKeepsItOpaque() throws Exception {
        fx.l2().file("od/below", "b");
        Overlay ov = fx.open();
        ov.setxattr("od", "user.x", b("1"), 0);
        assertTrue(upper.exists("od"));
        assertEquals(List.of(), dev.layerfs.core.testing.OverlayIo.names(ov, "od"));
        assertEquals(List.of("user.d", "user.x"), ov.listxattr("od").stream().sorted().toList());
    }

    @Test
    void theRootShowsNoPrivateXattrs() throws Exception {
        upper.at("").xattr("trusted.overlay.impure", "y").xattr("trusted.overlay.uuid", "u");
        Overlay ov = fx.open();
        assertEquals(List.of(), ov.listxattr("/"));
    }

    @Test
    void errorsOnMissingNames() throws Exception {
        Overlay ov = fx.open();
        assertErrno(Errno.ENOENT, () -> ov.getxattr("missing", "user.a"));
        assertErrno(Errno.ENOENT, () -> ov.listxattr("missing"));
        assertErrno(Errno.ENOENT, () -> ov.setxattr("missing", "user.a", b("1"), 0));
        assertErrno(Errno.ENOENT, () -> ov.removexattr("missing", "user.a"));
        assertErrno(Errno.ENODATA, () -> ov.getxattr("f", "user.absent"));
    }
}
