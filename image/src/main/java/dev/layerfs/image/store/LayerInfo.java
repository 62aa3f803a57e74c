package dev.layerfs.image.store;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * {@code layers/HEX/layer.json}: what extracting the layer measured. {@code size} is the uncompressed tar's length,
 * the size docker and podman show for a layer.
 */
public record LayerInfo(Digest diffId, long size, long entries, long fileBytes) {
    private static final String FILE = "layer.json";

    public static void write(Path layerDir, LayerInfo info) throws IOException {
        ObjectNode n = Json.object();
        n.put("diffId", info.diffId.toString());
        n.put("size", info.size);
        n.put("entries", info.entries);
        n.put("fileBytes", info.fileBytes);
        Files.write(layerDir.resolve(FILE), Json.bytes(n));
    }

    public static LayerInfo read(LayerStore store, Digest diffId) throws ImageStoreException {
        Path f = store.layerDir(diffId).resolve(FILE);
        try {
            JsonNode n = Json.parse(Files.readAllBytes(f), f.toString());
            return new LayerInfo(diffId, n.path("size").asLong(), n.path("entries").asLong(),
                    n.path("fileBytes").asLong());
        } catch (IOException e) {
            throw new ImageStoreException("layer " + diffId.shortHex() + " is not in the store (" + f + ")", e);
        }
    }
}
