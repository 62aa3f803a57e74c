package dev.layerfs.image.source;

import com.fasterxml.jackson.databind.JsonNode;
import dev.layerfs.image.store.Digest;
import dev.layerfs.image.store.ImageStoreException;
import dev.layerfs.image.store.Json;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The OCI image layout (a directory, or a tar of one: oci-archive): index.json names manifests by digest, each
 * manifest its config and layer blobs by digest and size; all of them are checked, the layers once while they are
 * read (compressed digest) and once uncompressed (the config's diff_ids). A nested index (a multi-platform image)
 * is followed to its first manifest for linux/amd64, or its only one.
 */
final class OciLayoutReader {
    private final ImageSource src;

    private final KnownBlobs known;

    OciLayoutReader(ImageSource src, KnownBlobs known) {
        this.src = src;
        this.known = known;
    }

    List<ImportPlan> read() throws IOException, ImageStoreException {
        JsonNode index = ArchiveReader.json(src.readSmall("index.json", ArchiveReader.METADATA_LIMIT), "index.json");
        List<ImportPlan> plans = new ArrayList<>();
        for (JsonNode desc : index.path("manifests")) {
            plans.add(readManifest(manifestOf(desc), desc.path("annotations").path(Json.REF_NAME).asText("")));
        }
        if (plans.isEmpty()) {
            throw new ImageStoreException("index.json lists no manifest");
        }
        return plans;
    }

    /** The image manifest a descriptor leads to, following nested indexes. */
    private JsonNode manifestOf(JsonNode desc) throws IOException, ImageStoreException {
        String mediaType = desc.path("mediaType").asText("");
        if (!mediaType.equals(Json.OCI_INDEX) && !mediaType.endsWith("manifest.list.v2+json")) {
            return desc;
        }
        Digest d = Json.digest(desc, "digest", "index.json entry");
        JsonNode nested = ArchiveReader.json(ArchiveReader.readVerified(src, blobName(d), d,
                desc.path("size").asLong(-1), "index", known), "index " + d.shortHex());
        JsonNode only = null;
        int count = 0;
        for (JsonNode m : nested.path("manifests")) {
            JsonNode p = m.path("platform");
            if (p.path("os").asText().equals("linux") && p.path("architecture").asText().equals("amd64")) {
                return manifestOf(m);
            }
            only = m;
            count++;
        }
        if (count != 1) {
            throw new ImageStoreException("index " + d.shortHex() + " has no linux/amd64 manifest");
        }
        return manifestOf(only);
    }

    private ImportPlan readManifest(JsonNode desc, String refName) throws IOException, ImageStoreException {
        Digest md = Json.digest(desc, "digest", "index.json entry");
        byte[] manifestBytes = ArchiveReader.readVerified(src, blobName(md), md, desc.path("size").asLong(-1),
                "manifest", known);
        JsonNode manifest = ArchiveReader.json(manifestBytes, "manifest " + md.shortHex());
        JsonNode configDesc = manifest.path("config");
        Digest cd = Json.digest(configDesc, "digest", "manifest " + md.shortHex() + " config");
        byte[] config = ArchiveReader.readVerified(src, blobName(cd), cd, configDesc.path("size").asLong(-1),
                "config", known);
        JsonNode layersJson = manifest.path("layers");
        List<Digest> diffIds = ArchiveReader.diffIds(ArchiveReader.json(config, "config " + cd.shortHex()),
                layersJson.size(), "config " + cd.shortHex());
        List<ImportPlan.LayerSource> layers = new ArrayList<>();
        for (int i = 0; i < layersJson.size(); i++) {
            JsonNode l = layersJson.get(i);
            Digest ld = Json.digest(l, "digest", "manifest " + md.shortHex() + " layer " + (i + 1));
            long size = l.path("size").asLong(-1);
            layers.add(new ImportPlan.LayerSource(blobName(ld), Optional.of(ld),
                    size >= 0 ? Optional.of(size) : Optional.empty(), l.path("mediaType").asText(Json.OCI_LAYER_TAR),
                    diffIds.get(i)));
        }
        List<String> names = refName.isEmpty() ? List.of() : List.of(refName);
        return new ImportPlan("oci", config, cd, manifestBytes, md, layers, names);
    }

    private static String blobName(Digest d) {
        return "blobs/sha256/" + d.hex();
    }
}
