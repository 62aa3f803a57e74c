package dev.layerfs.image.source;

import com.fasterxml.jackson.databind.JsonNode;
import dev.layerfs.image.store.Digest;
import dev.layerfs.image.store.ImageStoreException;
import dev.layerfs.image.store.Json;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * docker-archive, what {@code docker save} and {@code podman save} write: manifest.json lists per image its
 * config file (named after its digest), its names (RepoTags) and its layer tars. The config is checked against
 * the digest in its name; each layer, once uncompressed, against the config's diff_ids.
 */
final class DockerArchiveReader {
    private static final Pattern HEX = Pattern.compile("([0-9a-f]{64})");
    private final ImageSource src;

    private final KnownBlobs known;

    DockerArchiveReader(ImageSource src, KnownBlobs known) {
        this.src = src;
        this.known = known;
    }

    List<ImportPlan> read() throws IOException, ImageStoreException {
        JsonNode manifest = ArchiveReader.json(src.readSmall("manifest.json", ArchiveReader.METADATA_LIMIT),
                "manifest.json");
        if (!manifest.isArray() || manifest.isEmpty()) {
            throw new ImageStoreException("manifest.json lists no image");
        }
        List<ImportPlan> plans = new ArrayList<>();
        for (JsonNode entry : manifest) {
            String configName = Json.text(entry, "Config", "manifest.json entry");
            Matcher m = HEX.matcher(configName);
            byte[] config;
            Digest configDigest;
            if (m.find()) {
                configDigest = new Digest(m.group(1));
                config = ArchiveReader.readVerified(src, configName, configDigest, -1, "config", known);
            } else {
                config = src.readSmall(configName, ArchiveReader.METADATA_LIMIT);
                configDigest = Digest.of(config);
            }
            JsonNode configJson = ArchiveReader.json(config, "config " + configName);
            JsonNode layerNames = entry.path("Layers");
            List<Digest> diffIds = ArchiveReader.diffIds(configJson, layerNames.size(), "config " + configName);
            List<ImportPlan.LayerSource> layers = new ArrayList<>();
            for (int i = 0; i < layerNames.size(); i++) {
                String name = layerNames.get(i).asText();
                Matcher lm = HEX.matcher(name);
                // A name such as blobs/sha256/HEX promises the file's digest; LAYERID/layer.tar promises nothing.
                Optional<Digest> promised = name.startsWith("blobs/sha256/") && lm.find()
                        ? Optional.of(new Digest(lm.group(1))) : Optional.empty();
                layers.add(new ImportPlan.LayerSource(name, promised, Optional.empty(), Json.OCI_LAYER_TAR,
                        diffIds.get(i)));
            }
            List<String> names = new ArrayList<>();
            entry.path("RepoTags").forEach(t -> names.add(t.asText()));
            plans.add(new ImportPlan("docker-archive", config, configDigest, null, null, layers, names));
        }
        return plans;
    }
}
