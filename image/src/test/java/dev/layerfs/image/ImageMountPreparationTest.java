package dev.layerfs.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.layerfs.image.cli.ImageMount;
import dev.layerfs.image.store.Digest;
import dev.layerfs.image.store.LayerStore;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What image mount prepares from the store (no mount is made): the image from index.txt, which follows every
 * change of index.json, one made in place by another program included; a layer missing from the store refused
 * in one line.
 */
class ImageMountPreparationTest {
    @TempDir
    Path tmp;

    private StoreFixture fx;
    private byte[] base;
    private byte[] top;
    private Path mnt;

    @BeforeEach
    void importAnImage() throws Exception {
        fx = new StoreFixture(tmp);
        base = Archives.layer(tar -> Archives.file(tar, "a", "base layer"));
        top = Archives.layer(tar -> Archives.file(tar, "b", "top layer"));
        fx.importArchive(Archives.dockerArchive(tmp.resolve("one.tar"), "localhost/one:latest", List.of(base, top)));
        mnt = Files.createDirectory(tmp.resolve("mnt"));
    }

    private ImageMount prepare(String ref) throws ImageMount.Refusal {
        ImageMount m = ImageMount.prepare(List.of("--store", fx.store.root().toString(), "mount", ref, mnt.toString()),
                new ImageMount.Caller(tmp, Map.of(), true, tmp, false));
        m.abandon();
        return m;
    }

    private String lowerdirs(ImageMount m) {
        return m.layerfsArgs().get(1);
    }

    private String indexTxtHeader() throws Exception {
        return Files.readAllLines(fx.store.root().resolve("index.txt")).get(0);
    }

    @Test
    void theImageComesFromIndexTxtUntilIndexJsonChangesEvenInPlaceAndAtTheSameSize() throws Exception {
        String lower = "lowerdir=" + fx.store.layerRoot(Digest.of(top)) + ":" + fx.store.layerRoot(Digest.of(base));
        assertEquals(lower, lowerdirs(prepare("one")));
        // index.json's identity goes into index.txt once its change time is over a second old (its modification
        // time set to a whole second, which another program can set again exactly)
        Path index = fx.store.indexFile();
        FileTime modified = FileTime.fromMillis(1_000_000_000_000L);
        Files.setLastModifiedTime(index, modified);
        FileTime changed = (FileTime) Files.getAttribute(index, "unix:ctime");
        while (System.currentTimeMillis() - changed.toMillis() <= 1_500) {
            Thread.sleep(100);
        }
        assertEquals(lower, lowerdirs(prepare("one")));
        String header = indexTxtHeader();
        assertEquals(5, header.split(" ").length, header);
        assertNotEquals("-", header.split(" ")[4], header);
        assertEquals(lower, lowerdirs(prepare("one@2")), "from index.txt alone");

        // another program renames the image in place: the same inode, size and modification time
        String json = Files.readString(index);
        assertTrue(json.contains("localhost/one:latest"), json);
        Files.writeString(index, json.replace("localhost/one:latest", "localhost/two:latest"));
        Files.setLastModifiedTime(index, modified);
        assertEquals(modified, Files.getLastModifiedTime(index));

        ImageMount.Refusal gone = assertThrows(ImageMount.Refusal.class, () -> prepare("one"));
        assertTrue(gone.lines().get(0).contains("no image one"), gone.lines().toString());
        assertEquals(lower, lowerdirs(prepare("two")));
        assertEquals("lowerdir=" + fx.store.layerRoot(Digest.of(base)), lowerdirs(prepare("two@1")));
    }

    @Test
    void aLayerMissingFromTheStoreOrNotADirectoryIsRefusedInOneLine() throws Exception {
        Path root = fx.store.layerRoot(Digest.of(top));
        LayerStore.deleteTree(root);
        ImageMount.Refusal missing = assertThrows(ImageMount.Refusal.class, () -> prepare("one"));
        String line = "layerfs image: layer " + Digest.of(top).shortHex() + " is missing from the store";
        assertEquals(List.of(line), missing.lines());
        assertEquals(1, missing.exitCode());

        Files.writeString(root, "a file where the layer's tree was", StandardCharsets.UTF_8);
        ImageMount.Refusal file = assertThrows(ImageMount.Refusal.class, () -> prepare("one"));
        assertEquals(List.of(line), file.lines());
        assertEquals("lowerdir=" + fx.store.layerRoot(Digest.of(base)), lowerdirs(prepare("one@1")),
                "the base alone is there");
    }
}
