package dev.layerfs.image.store;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The image a user means by a reference: a name (":latest" and "localhost/" added as podman does when they are
 * missing), an image ID or manifest digest, with or without "sha256:", or a unique prefix of 4 or more hex digits of
 * an ID. Apart from {@link ImageIndex}, whose JSON types an image mount would otherwise load (and with them open
 * Jackson's jars) only to match a name.
 */
final class ImageReference {
    private ImageReference() {}

    /** What a reference is matched against: an image's names, ID and manifest digest. */
    interface Named {
        List<String> names();

        Digest id();

        Digest manifestDigest();
    }

    /** The image of {@code all} (index order) that {@code ref} names. */
    static <T extends Named> T resolve(String ref, List<T> all, Path storeRoot) throws ImageStoreException {
        List<String> candidates = new ArrayList<>(List.of(ref));
        boolean hasTag = ref.lastIndexOf(':') > ref.lastIndexOf('/');
        String tagged = hasTag ? ref : ref + ":latest";
        candidates.add(tagged);
        candidates.add("localhost/" + tagged);
        candidates.add("docker.io/library/" + tagged);
        for (String c : candidates) {
            for (T i : all) {
                if (i.names().contains(c)) {
                    return i;
                }
            }
        }
        String hex = ref.startsWith("sha256:") ? ref.substring(7) : ref;
        if (hex.matches("[0-9a-f]{4,64}")) {
            List<T> matches = new ArrayList<>();
            for (T i : all) {
                if (i.id().hex().startsWith(hex) || i.manifestDigest().hex().startsWith(hex)) {
                    matches.add(i);
                }
            }
            if (matches.size() == 1) {
                return matches.get(0);
            }
            if (matches.size() > 1) {
                throw new ImageStoreException("image ID prefix " + hex + " is ambiguous: " + matches.size()
                        + " images match");
            }
        }
        throw new ImageStoreException("no image " + ref + " in the store " + storeRoot);
    }
}
