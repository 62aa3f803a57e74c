package dev.layerfs.image.store;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * An image in the store: its manifest and config (both as stored, so unknown fields survive), and the names
 * index.json gives it. Its ID is the config's digest, as docker and podman show it.
 */
public record Image(Digest manifestDigest, JsonNode manifest, Digest configDigest, JsonNode config,
                    List<String> names)
        implements ImageReference.Named {

    public Digest id() {
        return configDigest;
    }

    /** The layers' diff_ids, base layer first. */
    public List<Digest> diffIds() throws ImageStoreException {
        List<Digest> ids = new ArrayList<>();
        JsonNode rootfs = config.path("rootfs").path("diff_ids");
        for (JsonNode n : rootfs) {
            try {
                ids.add(Digest.parse(n.asText()));
            } catch (IllegalArgumentException e) {
                throw new ImageStoreException("config " + configDigest.shortHex() + ": " + e.getMessage());
            }
        }
        return ids;
    }

    /** The manifest's layer descriptors, base layer first (same order and count as {@link #diffIds}). */
    public List<JsonNode> layerDescriptors() {
        List<JsonNode> l = new ArrayList<>();
        manifest.path("layers").forEach(l::add);
        return l;
    }

    /** The config's history entries, oldest first. */
    public List<JsonNode> history() {
        List<JsonNode> l = new ArrayList<>();
        config.path("history").forEach(l::add);
        return l;
    }

    public Optional<Instant> created() {
        return parseTime(config.path("created").asText(null));
    }

    /** An RFC 3339 time as configs write it, or empty. */
    public static Optional<Instant> parseTime(String s) {
        if (s == null || s.isEmpty()) {
            return Optional.empty();
        }
        try {
            return Optional.of(java.time.OffsetDateTime.parse(s).toInstant());
        } catch (DateTimeParseException e) {
            return Optional.empty();
        }
    }
}
