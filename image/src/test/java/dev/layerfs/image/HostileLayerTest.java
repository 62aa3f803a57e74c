package dev.layerfs.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.layerfs.image.store.ImageStoreException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.apache.commons.compress.archivers.tar.TarConstants;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Layers that try to reach outside their directory: each is refused with one message naming the entry, nothing
 * appears outside the store (the target directory beside it stays empty), and the store is as it was.
 */
class HostileLayerTest {
    @TempDir
    Path tmp;

    static Stream<Arguments> hostile() {
        return Stream.of(
                Arguments.of("dotdot", "a .. component", (Archives.Body) t -> Archives.file(t, "../outside/x", "x")),
                Arguments.of("nested-dotdot", "a .. component",
                        (Archives.Body) t -> Archives.file(t, "a/../../outside/x", "x")),
                Arguments.of("absolute", "an absolute name", (Archives.Body) t -> Archives.file(t, "/outside/x", "x")),
                Arguments.of("file-under-symlink", "under the symlink", (Archives.Body) t -> {
                    Archives.link(t, "l", "../../outside", TarConstants.LF_SYMLINK);
                    Archives.file(t, "l/x", "x");
                }),
                Arguments.of("directory-replaced-by-a-symlink", "under the symlink", (Archives.Body) t -> {
                    Archives.dir(t, "d/");
                    Archives.file(t, "d/a", "a");
                    Archives.link(t, "d", "../../outside", TarConstants.LF_SYMLINK);
                    Archives.file(t, "d/x", "x");
                }),
                Arguments.of("dir-under-symlink", "under the symlink", (Archives.Body) t -> {
                    Archives.link(t, "l", "/", TarConstants.LF_SYMLINK);
                    Archives.dir(t, "l/tmp/evil/");
                }),
                Arguments.of("hardlink-outside", "a .. component", (Archives.Body) t ->
                        Archives.link(t, "h", "../../../../../../etc/passwd", TarConstants.LF_LINK)),
                Arguments.of("hardlink-absolute", "an absolute name", (Archives.Body) t ->
                        Archives.link(t, "h", "/etc/passwd", TarConstants.LF_LINK)),
                Arguments.of("hardlink-through-symlink", "not a directory", (Archives.Body) t -> {
                    Archives.link(t, "l", "/etc", TarConstants.LF_SYMLINK);
                    Archives.link(t, "h", "l/passwd", TarConstants.LF_LINK);
                }),
                Arguments.of("whiteout-under-symlink", "under the symlink", (Archives.Body) t -> {
                    Archives.link(t, "l", "../../outside", TarConstants.LF_SYMLINK);
                    Archives.file(t, "l/.wh.x", "");
                }));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("hostile")
    void refusedWithTheStoreUnchanged(String name, String why, Archives.Body body) throws Exception {
        Path outside = Files.createDirectory(tmp.resolve("outside"));
        StoreFixture f = new StoreFixture(tmp);
        byte[] good = Archives.layer(t -> Archives.file(t, "etc/motd", "hi"));
        f.importArchive(Archives.dockerArchive(tmp.resolve("good.tar"), "good:1", List.of(good)));
        String before = f.state();

        Path archive = Archives.dockerArchive(tmp.resolve(name + ".tar"), "evil:1",
                List.of(good, Archives.layer(body)));
        ImageStoreException e = assertThrows(ImageStoreException.class, () -> f.importArchive(archive));
        assertTrue(e.getMessage().contains(why), e.getMessage());
        assertFalse(e.getMessage().contains("\n"), "one line: " + e.getMessage());
        assertEquals(before, f.state(), "the store is unchanged");
        try (Stream<Path> s = Files.list(outside)) {
            assertEquals(List.of(), s.toList(), "nothing written outside the store");
        }
        try (Stream<Path> s = Files.list(f.store.root().resolve("tmp"))) {
            assertEquals(List.of(), s.toList(), "no work directory left");
        }
    }

    @org.junit.jupiter.api.Test
    void aHostileLayerStagedBesideOthersStopsTheImportAndKeepsNothing() throws Exception {
        StoreFixture f = new StoreFixture(tmp);
        String before = f.state();
        Archives.Body many = t -> {
            for (int i = 0; i < 300; i++) {
                Archives.file(t, "d" + (i % 10) + "/f" + i, "content " + i);
            }
        };
        Path archive = Archives.dockerArchive(tmp.resolve("mixed.tar"), "mixed:1", List.of(Archives.layer(many),
                Archives.layer(t -> Archives.file(t, "../outside/x", "x")), Archives.layer(t -> {
                    many.write(t);
                    Archives.file(t, "more", "m");
                })));
        ImageStoreException e = assertThrows(ImageStoreException.class, () -> f.importArchive(archive));
        assertTrue(e.getMessage().contains("a .. component"), e.getMessage());
        assertEquals(before, f.state(), "the store is unchanged");
        try (Stream<Path> s = Files.list(f.store.root().resolve("tmp"))) {
            assertEquals(List.of(), s.toList(), "no work directory left");
        }
    }
}
