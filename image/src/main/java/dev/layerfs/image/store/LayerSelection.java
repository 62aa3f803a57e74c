package dev.layerfs.image.store;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code IMAGE@N} and {@code IMAGE@DIGEST}: how many of an image's layers (base first) a mount or diff uses.
 * N counts layers (1 = the base layer); DIGEST is a layer's diff_id or blob digest, or a unique prefix of one.
 */
public final class LayerSelection {
    private LayerSelection() {}

    /** The image reference and the selector, split at the last '@' (none: all layers). */
    public static String[] split(String ref) {
        int at = ref.lastIndexOf('@');
        return at < 0 ? new String[] {ref, null} : new String[] {ref.substring(0, at), ref.substring(at + 1)};
    }

    public static int count(Image image, String selector) throws ImageStoreException {
        List<String> blobs = new ArrayList<>();
        for (JsonNode d : image.layerDescriptors()) {
            blobs.add(d.path("digest").asText(""));
        }
        return count(image.diffIds(), blobs, selector);
    }

    /** The same for an image's diff_ids and its manifest's layer blob digests ({@code sha256:HEX}), base first. */
    public static int count(List<Digest> diffIds, List<String> blobs, String selector) throws ImageStoreException {
        if (selector == null) {
            return diffIds.size();
        }
        if (selector.matches("[0-9]{1,4}")) {
            int n = Integer.parseInt(selector);
            if (n < 1 || n > diffIds.size()) {
                throw new ImageStoreException("@" + n + ": the image has layers 1 to " + diffIds.size());
            }
            return n;
        }
        String hex = selector.startsWith("sha256:") ? selector.substring(7) : selector;
        if (!hex.matches("[0-9a-f]{1,64}")) {
            throw new ImageStoreException("@" + selector + " is neither a layer number nor a layer digest");
        }
        int found = -1;
        for (int i = 0; i < diffIds.size(); i++) {
            String blob = blobs.size() > i ? blobs.get(i) : "";
            if (diffIds.get(i).hex().startsWith(hex) || blob.startsWith("sha256:" + hex)) {
                if (found >= 0 && !diffIds.get(found).equals(diffIds.get(i))) {
                    throw new ImageStoreException("@" + selector + " matches more than one layer");
                }
                found = i;
            }
        }
        if (found < 0) {
            throw new ImageStoreException("@" + selector + ": no layer of the image has that digest");
        }
        return found + 1;
    }
}
