package dev.layerfs.image.store;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The store's index.json: one manifest descriptor per image name (annotation org.opencontainers.image.ref.name,
 * the full name such as {@code localhost/app:latest}), and one without that annotation for an image with no name.
 * Changes happen under the index lock and replace the file in one rename.
 */
public final class ImageIndex {
    private final LayerStore store;

    public ImageIndex(LayerStore store) {
        this.store = store;
    }

    /** Every image, in index order, each once with all of its names. */
    public List<Image> images() throws ImageStoreException {
        return images(read());
    }

    private List<Image> images(JsonNode index) throws ImageStoreException {
        List<Image> images = new ArrayList<>();
        for (Entry e : entries(index)) {
            images.add(load(e.manifest(), e.names()));
        }
        return images;
    }

    /** An image as index.json lists it: its manifest digest and every name it has there. */
    record Entry(Digest manifest, List<String> names) {}

    /** The images of an index.json as read, in index order, each once with all of its names. */
    List<Entry> entries(byte[] index) throws ImageStoreException {
        return entries(Json.parse(index, "the store's index.json"));
    }

    private static List<Entry> entries(JsonNode index) throws ImageStoreException {
        Map<Digest, List<String>> byManifest = new LinkedHashMap<>();
        for (JsonNode m : index.path("manifests")) {
            Digest d = Json.digest(m, "digest", "index.json entry");
            List<String> names = byManifest.get(d);
            if (names == null) {
                names = new ArrayList<>();
                byManifest.put(d, names);
            }
            String name = m.path("annotations").path(Json.REF_NAME).asText("");
            if (!name.isEmpty()) {
                names.add(name);
            }
        }
        List<Entry> entries = new ArrayList<>();
        for (Map.Entry<Digest, List<String>> e : byManifest.entrySet()) {
            entries.add(new Entry(e.getKey(), List.copyOf(e.getValue())));
        }
        return entries;
    }

    /**
     * The image a user means by {@code ref}: a name (":latest" and "localhost/" added as podman does when they
     * are missing), an image ID or manifest digest, with or without "sha256:", or a unique prefix of 4 or more
     * hex digits of an ID.
     */
    public Image resolve(String ref) throws ImageStoreException {
        return ImageReference.resolve(ref, images(), store.root());
    }

    /** Loads an image from its manifest blob and config blob. */
    public Image load(Digest manifestDigest, List<String> names) throws ImageStoreException {
        JsonNode manifest = Json.parse(readBlob(manifestDigest), "manifest " + manifestDigest.shortHex());
        Digest configDigest = Json.digest(manifest.path("config"), "digest", "manifest " + manifestDigest);
        JsonNode config = Json.parse(readBlob(configDigest), "config " + configDigest.shortHex());
        return new Image(manifestDigest, manifest, configDigest, config, List.copyOf(names));
    }

    private byte[] readBlob(Digest d) throws ImageStoreException {
        try {
            return Files.readAllBytes(store.blob(d));
        } catch (IOException e) {
            throw new ImageStoreException("the store lacks blob " + d + ": " + e.getMessage(), e);
        }
    }

    /**
     * Records an image: its manifest descriptor under each name (taking each name from whatever image had it), or
     * once without a name when {@code names} is empty and the image is not yet in the index.
     */
    public void add(ObjectNode manifestDescriptor, List<String> names) throws ImageStoreException {
        update(new AddImage(manifestDescriptor, names));
    }

    /** Removes every index entry of the image. */
    public void remove(Image image) throws ImageStoreException {
        update(new RemoveImage(image.manifestDigest().toString()));
    }

    /**
     * A change of the index's manifest list. Its two kinds are named classes rather than lambdas: a re-import,
     * whose only change to the store is this one, then bootstraps no method handles (README, Images).
     */
    private interface Change {
        ArrayNode apply(ArrayNode manifests);
    }

    /** {@link #add}: the image under each of its names, the names taken from any other image. */
    private static final class AddImage implements Change {
        private final ObjectNode manifestDescriptor;
        private final List<String> names;

        AddImage(ObjectNode manifestDescriptor, List<String> names) {
            this.manifestDescriptor = manifestDescriptor;
            this.names = names;
        }

        @Override
        public ArrayNode apply(ArrayNode manifests) {
            String digest = manifestDescriptor.get("digest").asText();
            ArrayNode kept = Json.array();
            boolean present = false;
            for (JsonNode m : manifests) {
                String name = m.path("annotations").path(Json.REF_NAME).asText("");
                boolean sameImage = m.path("digest").asText().equals(digest);
                if (names.contains(name) || (sameImage && name.isEmpty() && !names.isEmpty())) {
                    continue;
                }
                present |= sameImage;
                kept.add(m);
            }
            for (String name : names) {
                ObjectNode entry = manifestDescriptor.deepCopy();
                entry.putObject("annotations").put(Json.REF_NAME, name);
                kept.add(entry);
            }
            if (names.isEmpty() && !present) {
                kept.add(manifestDescriptor.deepCopy());
            }
            return kept;
        }
    }

    /** {@link #remove}: every entry of one manifest digest dropped. */
    private static final class RemoveImage implements Change {
        private final String manifestDigest;

        RemoveImage(String manifestDigest) {
            this.manifestDigest = manifestDigest;
        }

        @Override
        public ArrayNode apply(ArrayNode manifests) {
            ArrayNode kept = Json.array();
            for (JsonNode m : manifests) {
                if (!m.path("digest").asText().equals(manifestDigest)) {
                    kept.add(m);
                }
            }
            return kept;
        }
    }

    /**
     * Applies a change under the index lock. An index the change leaves as it was (the same manifest list, as
     * JSON values) is not written again, nor laid out to find that out: a re-import then loads no JSON generator.
     */
    private void update(Change change) throws ImageStoreException {
        try {
            FileLock lock = store.lock("index");
            try {
                byte[] current = Files.exists(store.indexFile()) ? Files.readAllBytes(store.indexFile()) : null;
                JsonNode index = current == null ? Json.object() : Json.parse(current, "the store's index.json");
                ObjectNode out = Json.object();
                out.put("schemaVersion", 2);
                out.put("mediaType", Json.OCI_INDEX);
                ArrayNode manifests = index.path("manifests").isArray()
                        ? (ArrayNode) index.get("manifests") : Json.array();
                ArrayNode changed = change.apply(manifests);
                if (current != null && Json.sameValue(changed, manifests) && index.path("schemaVersion").asInt() == 2
                        && index.path("mediaType").asText().equals(Json.OCI_INDEX)) {
                    return;
                }
                out.set("manifests", changed);
                byte[] written = Json.pretty(out);
                LayerStore.writeAtomically(store.root().resolve("tmp"), store.indexFile(), written);
                try {
                    MountableImage.refresh(store, this, written, MountableImage.NO_IDENTITY);
                } catch (ImageStoreException e) {
                    // index.txt is a cache: the change above is made; a stale index.txt names the index.json it
                    // was made from, so the next image mount sees it is stale and makes it again (or says why not)
                }
            } finally {
                LayerStore.unlock(lock);
            }
        } catch (IOException e) {
            throw new ImageStoreException("cannot update " + store.indexFile() + ": " + e.getMessage(), e);
        }
    }

    private JsonNode read() throws ImageStoreException {
        byte[] index = readBytes();
        return index == null ? Json.object() : Json.parse(index, "the store's index.json");
    }

    /** index.json as it is now, or {@code null} where the store has none yet. */
    byte[] readBytes() throws ImageStoreException {
        try {
            return Files.readAllBytes(store.indexFile());
        } catch (java.nio.file.NoSuchFileException e) {
            return null;
        } catch (IOException e) {
            throw new ImageStoreException("cannot read " + store.indexFile() + ": " + e.getMessage(), e);
        }
    }
}
