package dev.layerfs.image.store;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;

/** The one Jackson mapper, and the OCI media types the store writes. */
public final class Json {
    public static final ObjectMapper MAPPER = new ObjectMapper();
    public static final String OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
    public static final String OCI_INDEX = "application/vnd.oci.image.index.v1+json";
    public static final String OCI_CONFIG = "application/vnd.oci.image.config.v1+json";
    public static final String OCI_LAYER_TAR = "application/vnd.oci.image.layer.v1.tar";
    public static final String REF_NAME = "org.opencontainers.image.ref.name";

    private Json() {}

    /** Parses JSON, or fails with the file's role in the message. */
    public static JsonNode parse(byte[] bytes, String what) throws ImageStoreException {
        try {
            JsonNode n = MAPPER.readTree(bytes);
            if (n == null || n.isMissingNode()) {
                throw new ImageStoreException(what + " is empty");
            }
            return n;
        } catch (IOException e) {
            throw new ImageStoreException(what + " is not valid JSON: " + firstLine(e.getMessage()));
        }
    }

    public static byte[] bytes(JsonNode n) {
        try {
            return MAPPER.writeValueAsBytes(n);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /** An OCI descriptor. */
    public static ObjectNode descriptor(String mediaType, Digest digest, long size) {
        ObjectNode d = MAPPER.createObjectNode();
        d.put("mediaType", mediaType);
        d.put("digest", digest.toString());
        d.put("size", size);
        return d;
    }

    /** A required text field, or a one-line error naming the document and the field. */
    public static String text(JsonNode n, String field, String what) throws ImageStoreException {
        JsonNode v = n.get(field);
        if (v == null || !v.isTextual()) {
            throw new ImageStoreException(what + " has no " + field);
        }
        return v.asText();
    }

    /** A digest field, checked. */
    public static Digest digest(JsonNode n, String field, String what) throws ImageStoreException {
        String s = text(n, field, what);
        try {
            return Digest.parse(s);
        } catch (IllegalArgumentException e) {
            throw new ImageStoreException(what + ": " + e.getMessage());
        }
    }

    private static String firstLine(String s) {
        if (s == null) {
            return "";
        }
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }
}
