package dev.layerfs.image.commit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.layerfs.image.importer.Importer;
import dev.layerfs.image.importer.Progress;
import dev.layerfs.image.store.CountingDigestStream;
import dev.layerfs.image.store.Digest;
import dev.layerfs.image.store.Image;
import dev.layerfs.image.store.ImageIndex;
import dev.layerfs.image.store.ImageStoreException;
import dev.layerfs.image.store.Json;
import dev.layerfs.image.store.LayerStore;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;

/**
 * {@code image commit}: a writable layer becomes the top layer of a new image. The layer tar comes from
 * {@link LayerTarWriter} (the same layer, the same digest); the new config is the parent's with the diff_id and a
 * history entry added ({@code created}: now, or SOURCE_DATE_EPOCH when set, so that the image ID can be
 * reproducible too), and the new manifest the parent's layers plus this one.
 */
public final class Committer {
    private final LayerStore store;

    public Committer(LayerStore store) {
        this.store = store;
    }

    /** The result: the new layer's diff_id and the new image's ID. */
    public record Result(Digest diffId, Digest imageId) {}

    public Result commit(Path upper, Image parent, int parentLayers, String tag, String createdBy, String comment)
            throws ImageStoreException {
        try {
            Path tmp = store.newTempDir();
            try {
                Path tar = tmp.resolve("layer.tar");
                Digest diffId;
                try (OutputStream out = new BufferedOutputStream(Files.newOutputStream(tar), 1 << 16)) {
                    LayerTarWriter.write(upper, out);
                }
                try (InputStream in = Files.newInputStream(tar)) {
                    CountingDigestStream d = new CountingDigestStream(in);
                    d.drain();
                    diffId = d.digest();
                }
                new Importer(store, new Progress(System.out, null)).addLayerTar(tar, diffId);
                long size = Files.size(tar);
                Digest imageId = writeImage(parent, parentLayers, diffId, size, tag, createdBy, comment);
                return new Result(diffId, imageId);
            } finally {
                LayerStore.deleteTree(tmp);
            }
        } catch (IOException e) {
            throw new ImageStoreException("cannot commit " + upper + ": " + e.getMessage(), e);
        }
    }

    private Digest writeImage(Image parent, int parentLayers, Digest diffId, long size, String tag, String createdBy,
                              String comment) throws ImageStoreException, IOException {
        String created = created().toString();
        ObjectNode config = parent.config().deepCopy();
        config.put("created", created);
        ArrayNode diffIds = config.with("rootfs").putArray("diff_ids");
        config.with("rootfs").put("type", "layers");
        List<Digest> parentIds = parent.diffIds().subList(0, parentLayers);
        parentIds.forEach(d -> diffIds.add(d.toString()));
        diffIds.add(diffId.toString());
        ArrayNode history = config.putArray("history");
        int layers = 0;
        for (JsonNode h : parent.history()) {
            boolean empty = h.path("empty_layer").asBoolean(false);
            if (!empty && layers == parentLayers) {
                break;
            }
            history.add(h);
            layers += empty ? 0 : 1;
        }
        ObjectNode step = history.addObject();
        step.put("created", created);
        step.put("created_by", createdBy);
        if (!comment.isEmpty()) {
            step.put("comment", comment);
        }
        byte[] configBytes = Json.bytes(config);
        Digest configDigest = store.writeBlob(configBytes);
        ObjectNode manifest = Json.object();
        manifest.put("schemaVersion", 2);
        manifest.put("mediaType", Json.OCI_MANIFEST);
        manifest.set("config", Json.descriptor(Json.OCI_CONFIG, configDigest, configBytes.length));
        ArrayNode layerDescs = manifest.putArray("layers");
        List<JsonNode> parentDescs = parent.layerDescriptors();
        for (int i = 0; i < parentLayers; i++) {
            layerDescs.add(parentDescs.get(i));
        }
        layerDescs.add(Json.descriptor(Json.OCI_LAYER_TAR, diffId, size));
        byte[] manifestBytes = Json.bytes(manifest);
        Digest manifestDigest = store.writeBlob(manifestBytes);
        new ImageIndex(store).add(Json.descriptor(Json.OCI_MANIFEST, manifestDigest, manifestBytes.length),
                List.of(tag));
        return configDigest;
    }

    private static Instant created() {
        String epoch = System.getenv("SOURCE_DATE_EPOCH");
        if (epoch != null && epoch.matches("[0-9]+")) {
            return Instant.ofEpochSecond(Long.parseLong(epoch));
        }
        return Instant.now().truncatedTo(ChronoUnit.SECONDS);
    }
}
