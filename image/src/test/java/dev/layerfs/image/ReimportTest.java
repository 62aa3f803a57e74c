package dev.layerfs.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.layerfs.image.store.Digest;
import dev.layerfs.image.store.ImageStoreException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Importing an OCI layout again: a layer whose tree and blob the store holds, known to pair, is not read (a
 * corrupted copy in the archive goes unnoticed, as it is used for nothing); one not known to pair is read and
 * checked; a config pairing a stored blob with another stored layer is refused.
 */
class ReimportTest {
    @TempDir
    Path tmp;

    private StoreFixture fx;
    private byte[] layerA;
    private byte[] layerB;
    private byte[] blobA;
    private byte[] blobB;
    private Path archive;

    @BeforeEach
    void importOnce() throws Exception {
        fx = new StoreFixture(tmp);
        layerA = Archives.layer(tar -> Archives.file(tar, "a", "first layer"));
        layerB = Archives.layer(tar -> Archives.file(tar, "b", "second layer"));
        blobA = Archives.gzip(layerA);
        blobB = Archives.gzip(layerB);
        archive = Archives.ociLayout(tmp.resolve("oci"), "localhost/two:latest", List.of(blobA, blobB),
                List.of(Digest.of(layerA), Digest.of(layerB)));
        fx.importArchive(archive);
        assertTrue(fx.output().contains("Extracted"), fx.output());
        fx.output.reset();
    }

    private Path archiveBlob(byte[] blob) {
        return archive.resolve("blobs/sha256").resolve(Digest.of(blob).hex());
    }

    private Path pairing(byte[] layer, byte[] blob) {
        return fx.store.layerDir(Digest.of(layer)).resolve("blob-" + Digest.of(blob).hex());
    }

    @Test
    void aLayerWhoseTreeAndBlobAreStoredIsNotReadAgain() throws Exception {
        assertTrue(Files.exists(pairing(layerB, blobB)), "the pairing checked at the first import is recorded");
        String before = fx.state();
        Files.write(archiveBlob(blobB), new byte[blobB.length]);
        fx.importArchive(archive);
        assertEquals(2, fx.output().split("Already exists\n", -1).length - 1, fx.output());
        assertEquals(before, fx.state());
    }

    @Test
    void aStoredBlobNotRecordedWithItsLayerIsReadAndChecked() throws Exception {
        Files.delete(pairing(layerB, blobB));
        Files.write(archiveBlob(blobB), new byte[blobB.length]);
        String before = fx.state();
        ImageStoreException e = assertThrows(ImageStoreException.class, () -> fx.importArchive(archive));
        assertTrue(e.getMessage().contains("has digest"), e.getMessage());
        assertEquals(before, fx.state(), "nothing kept");

        Files.write(archiveBlob(blobB), blobB);
        fx.output.reset();
        fx.importArchive(archive);
        assertTrue(fx.output().contains("Already exists (its blob checked against the layer)"), fx.output());
        assertTrue(Files.exists(pairing(layerB, blobB)), "recorded now");
    }

    @Test
    void aConfigPairingAStoredBlobWithAnotherStoredLayerIsRefused() throws Exception {
        Path lying = Archives.ociLayout(tmp.resolve("lying"), "localhost/lying:latest", List.of(blobA),
                List.of(Digest.of(layerB)));
        String before = fx.state();
        ImageStoreException e = assertThrows(ImageStoreException.class, () -> fx.importArchive(lying));
        assertTrue(e.getMessage().contains("the config's diff_id is " + Digest.of(layerB)), e.getMessage());
        assertEquals(before, fx.state());
        assertFalse(Files.exists(pairing(layerB, blobA)));
    }
}
