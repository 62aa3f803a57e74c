package dev.layerfs.image.source;

import dev.layerfs.image.store.Digest;
import java.util.List;
import java.util.Optional;

/**
 * One image of an archive, as its format reader found it: the config (bytes and checked digest), the manifest
 * to store and its checked digest (the archive's own for an OCI layout, or both null when the store must write
 * one), the layers and names.
 */
public record ImportPlan(String format, byte[] config, Digest configDigest, byte[] manifest, Digest manifestDigest,
                         List<LayerSource> layers, List<String> names) {

    /**
     * A layer file of the archive. {@code blobDigest}: the digest the archive promises for the file as it is
     * (compressed or not), when it promises one; {@code diffId}: the config's digest of the uncompressed tar.
     */
    public record LayerSource(String path, Optional<Digest> blobDigest, Optional<Long> blobSize, String mediaType,
                              Digest diffId) {}
}
