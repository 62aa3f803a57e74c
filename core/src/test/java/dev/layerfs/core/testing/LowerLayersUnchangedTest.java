package dev.layerfs.core.testing;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.layerfs.core.nativeio.Linux;
import dev.layerfs.core.nativeio.Syscalls;
import dev.layerfs.core.nativeio.Timespec;
import java.lang.reflect.Proxy;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.opentest4j.AssertionFailedError;

/**
 * The guard itself: every kind of change to a lower layer is seen, and taking a snapshot changes nothing.
 * (This class drives the extension by hand, so it does not use it.)
 */
class LowerLayersUnchangedTest {
    @TempDir
    Path tmp;

    LayerTree layer;

    @BeforeEach
    void buildLayer() {
        layer = new LayerTree(tmp.resolve("layer"));
        layer.file("d/f", "content").mode(0640).owner(1001, 1002).mtime(1_100_000_000L, 123_456_789)
                .xattr("user.a", "1").xattr("trusted.b", "2");
        layer.symlink("d/ln", "f");
        layer.fifo("p");
        layer.charDevice("c", 1, 3);
        layer.whiteout("wh");
        layer.dir("e").mtime(1_200_000_000L, 5);
        layer.settle();
    }

    static Stream<Arguments> changes() {
        Syscalls sys = Syscalls.get();
        return Stream.of(
                Arguments.of("content", (Consumer<LayerTree>) l -> l.file("d/f", "CONTENT")
                        .mtime(1_100_000_000L, 123_456_789)),
                Arguments.of("mode", (Consumer<LayerTree>) l -> l.at("d/f").mode(0600)),
                Arguments.of("owner", (Consumer<LayerTree>) l -> l.at("d/f").owner(1001, 9)),
                Arguments.of("mtime", (Consumer<LayerTree>) l -> l.dir("e").mtime(1_200_000_000L, 6)),
                Arguments.of("user xattr", (Consumer<LayerTree>) l -> l.at("d/f").xattr("user.a", "X")),
                Arguments.of("trusted xattr added", (Consumer<LayerTree>) l -> l.dir("e")
                        .xattr("trusted.overlay.opaque", "y")),
                Arguments.of("symlink target", (Consumer<LayerTree>) l -> {
                    try {
                        Files.delete(l.path("d/ln"));
                    } catch (java.io.IOException e) {
                        throw new java.io.UncheckedIOException(e);
                    }
                    l.symlink("d/ln", "g");
                }),
                Arguments.of("rdev", (Consumer<LayerTree>) l -> {
                    try {
                        Files.delete(l.path("c"));
                    } catch (java.io.IOException e) {
                        throw new java.io.UncheckedIOException(e);
                    }
                    l.charDevice("c", 1, 5);
                }),
                Arguments.of("new file", (Consumer<LayerTree>) l -> l.emptyFile("e/new").tree().dir("e")
                        .mtime(1_200_000_000L, 5)),
                Arguments.of("type", (Consumer<LayerTree>) l -> {
                    try {
                        Files.delete(l.path("p"));
                        sys.mkdirat(Linux.AT_FDCWD, l.path("p").toString(), 0644);
                    } catch (Exception e) {
                        throw new IllegalStateException(e);
                    }
                }));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("changes")
    void snapshotSeesEveryChange(String what, Consumer<LayerTree> change) {
        TreeSnapshot before = TreeSnapshot.of(layer.root());
        change.accept(layer);
        List<String> diff = before.diff(TreeSnapshot.of(layer.root()));
        assertFalse(diff.isEmpty(), "a change of " + what + " went unseen");
    }

    @Test
    void snapshotChangesNothingNotEvenAtimes() throws Exception {
        Syscalls.get().lutimensat(Linux.AT_FDCWD, layer.path("d").toString(), new Timespec(1_000, 0),
                new Timespec(1_000, 0));
        Timespec fileAtime = layer.stat("d/f").atime();
        Timespec dirAtime = layer.stat("d").atime();
        TreeSnapshot a = TreeSnapshot.of(layer.root());
        TreeSnapshot b = TreeSnapshot.of(layer.root());
        assertEquals(a, b);
        assertEquals(List.of(), a.diff(b));
        assertEquals(fileAtime, layer.stat("d/f").atime(), "reading content for the hash changed an atime");
        assertEquals(dirAtime, layer.stat("d").atime(), "listing a directory for the hash changed an atime");
        assertTrue(a.objects().get("d/f").contains("trusted.b="), "trusted xattrs are part of the snapshot");
    }

    @Test
    void extensionFailsTheTestWhenAWatchedLayerChanges() throws Exception {
        LowerLayersUnchanged ext = new LowerLayersUnchanged();
        ExtensionContext ctx = fakeContext();
        ext.beforeEach(ctx);
        LowerLayersUnchanged.watch(layer.root());
        layer.file("d/f", "changed");
        AssertionFailedError e = assertThrows(AssertionFailedError.class, () -> ext.afterEach(ctx));
        assertTrue(e.getMessage().contains("d/f"), e.getMessage());
        assertFalse(LowerLayersUnchanged.active());
    }

    @Test
    void extensionPassesAnUnchangedLayerAndClosesWhatItWasGiven() throws Exception {
        LowerLayersUnchanged ext = new LowerLayersUnchanged();
        ExtensionContext ctx = fakeContext();
        ext.beforeEach(ctx);
        assertTrue(LowerLayersUnchanged.active());
        LowerLayersUnchanged.watch(layer.root());
        boolean[] closed = {false};
        LowerLayersUnchanged.closeAfterTest(() -> closed[0] = true);
        assertDoesNotThrow(() -> ext.afterEach(ctx));
        assertTrue(closed[0]);
    }

    @Test
    void fixtureRefusesToOpenWithoutTheExtension() {
        OverlayFixture fx = OverlayFixture.create(tmp.resolve("fx"));
        assertThrows(IllegalStateException.class, fx::open);
    }

    private static ExtensionContext fakeContext() {
        return (ExtensionContext) Proxy.newProxyInstance(ExtensionContext.class.getClassLoader(),
                new Class<?>[] {ExtensionContext.class}, (proxy, method, args) -> {
                    if (method.getName().equals("getDisplayName")) {
                        return "fake test";
                    }
                    throw new UnsupportedOperationException(method.getName());
                });
    }
}
