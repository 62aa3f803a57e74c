package dev.layerfs.it.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.layerfs.core.testing.TmpfsMount;
import dev.layerfs.image.store.LayerStore;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The tree delete that removes store layers, extraction scratch and ephemeral layers: it follows no symlink and
 * enters no other file system.
 */
class TreeDeleteTest {
    @TempDir
    Path tmp;

    @Test
    void aSymlinkIsDeletedNotFollowed() throws IOException {
        Path outside = Files.createDirectories(tmp.resolve("outside"));
        Files.writeString(outside.resolve("keep"), "kept");
        Path tree = Files.createDirectories(tmp.resolve("tree/a/b"));
        Files.createSymbolicLink(tree.resolve("link"), outside);
        Files.writeString(tree.resolve("f"), "x");
        LayerStore.deleteTree(tmp.resolve("tree"));
        assertFalse(Files.exists(tmp.resolve("tree"), LinkOption.NOFOLLOW_LINKS));
        assertEquals("kept", Files.readString(outside.resolve("keep")));
    }

    @Test
    void aFileSystemMountedInsideStopsTheDeleteAndIsLeftAlone() throws Exception {
        Path tree = Files.createDirectories(tmp.resolve("tree"));
        Files.writeString(tree.resolve("before"), "x");
        try (TmpfsMount m = TmpfsMount.mountOrSkip(tree.resolve("mnt"))) {
            Files.writeString(m.dir().resolve("theirs"), "not ours");
            IOException e = assertThrows(IOException.class, () -> LayerStore.deleteTree(tree));
            assertTrue(e.getMessage().contains("mount point"), e.getMessage());
            assertEquals("not ours", Files.readString(m.dir().resolve("theirs")));
        }
        LayerStore.deleteTree(tree);
        assertFalse(Files.exists(tree, LinkOption.NOFOLLOW_LINKS));
    }

    @Test
    void namesThatAreNotUtf8AndDeepTreesAreDeleted() throws Exception {
        Path tree = Files.createDirectories(tmp.resolve("tree"));
        // Made by the shell, byte for byte, whatever this JVM's charset for file names.
        Process p = new ProcessBuilder("sh", "-c", "printf x > \"$(printf '\\377\\376n')\"; mkdir \"$(printf 'd\\300')\"")
                .directory(tree.toFile()).inheritIO().start();
        assertEquals(0, p.waitFor());
        try (var names = Files.list(tree)) {
            assertEquals(2, names.count(), "the two names the shell made");
        }
        Path deep = tree;
        for (int i = 0; i < 40; i++) {
            deep = deep.resolve("d" + i + "-" + "x".repeat(80));
        }
        Files.createDirectories(deep);
        Files.writeString(deep.resolve("f"), "deep");
        LayerStore.deleteTree(tree);
        assertFalse(Files.exists(tree, LinkOption.NOFOLLOW_LINKS));
    }
}
