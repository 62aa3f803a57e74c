package dev.layerfs.image.source;

import dev.layerfs.image.store.Digest;

/**
 * Blobs whose digests were verified before (the store's, checked when they were written): a file of an archive
 * whose bytes equal such a blob has that blob's digest, so a re-import checks its manifest and config by comparing
 * a few kilobytes instead of starting the JDK's SHA-256 provider, which cost a command with nothing else to do
 * about a fifth of its CPU time.
 */
public interface KnownBlobs {
    KnownBlobs NONE = (digest, content) -> false;

    /** Whether a blob verified to have {@code digest} holds exactly {@code content}. */
    boolean holds(Digest digest, byte[] content);
}
