package dev.layerfs.image.source;

import dev.layerfs.image.store.Digest;
import dev.layerfs.image.store.ImageStoreException;
import dev.layerfs.image.store.Json;
import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/** Recognizes an archive's format and reads its images: docker-archive (manifest.json) or OCI (index.json). */
public final class ArchiveReader {
    static final int METADATA_LIMIT = 16 << 20;

    private ArchiveReader() {}

    /** The archive's images; {@code known}: blobs whose content stands for their digest (see KnownBlobs). */
    public static List<ImportPlan> read(ImageSource src, String what, KnownBlobs known)
            throws ImageStoreException, IOException {
        if (src.exists("oci-layout") && src.exists("index.json")) {
            return new OciLayoutReader(src, known).read();
        }
        if (src.exists("manifest.json")) {
            return new DockerArchiveReader(src, known).read();
        }
        throw new ImageStoreException(what + " is neither a docker-archive (no manifest.json) nor an OCI layout"
                + " (no oci-layout and index.json)");
    }

    /** The config's diff_ids, checked against the number of layers the manifest lists. */
    static List<Digest> diffIds(JsonNode config, int layers, String what) throws ImageStoreException {
        List<Digest> ids = new ArrayList<>();
        for (JsonNode n : config.path("rootfs").path("diff_ids")) {
            try {
                ids.add(Digest.parse(n.asText()));
            } catch (IllegalArgumentException e) {
                throw new ImageStoreException(what + ": rootfs.diff_ids: " + e.getMessage());
            }
        }
        if (ids.size() != layers) {
            throw new ImageStoreException(what + " lists " + ids.size() + " diff_ids for " + layers + " layers");
        }
        return ids;
    }

    /**
     * Reads a small file, checking it against the digest (and size, when known) that refers to it: by hashing it,
     * or by finding it equal to a known blob of that digest.
     */
    static byte[] readVerified(ImageSource src, String name, Digest expected, long size, String what,
                               KnownBlobs known) throws IOException, ImageStoreException {
        byte[] b = src.readSmall(name, METADATA_LIMIT);
        if (!known.holds(expected, b)) {
            Digest actual = Digest.of(b);
            if (!actual.equals(expected)) {
                throw new ImageStoreException(what + " " + name + " has digest " + actual + ", expected "
                        + expected);
            }
        }
        if (size >= 0 && b.length != size) {
            throw new ImageStoreException(what + " " + name + " has " + b.length + " bytes, expected " + size);
        }
        return b;
    }

    static JsonNode json(byte[] b, String what) throws ImageStoreException {
        return Json.parse(b, what);
    }
}
