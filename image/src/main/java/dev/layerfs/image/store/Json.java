package dev.layerfs.image.store;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.util.DefaultPrettyPrinter;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Comparator;
import java.util.Iterator;
import java.util.Map;

/**
 * JSON documents as Jackson trees, and the OCI media types the store writes. Trees are read and written with
 * Jackson's streaming parser and generator (jackson-core) and built from Jackson's node classes, without an
 * ObjectMapper: making one and its serializer and deserializer caches was most of what a command with nothing
 * to extract spent (a re-import).
 */
public final class Json {
    public static final String OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
    public static final String OCI_INDEX = "application/vnd.oci.image.index.v1+json";
    public static final String OCI_CONFIG = "application/vnd.oci.image.config.v1+json";
    public static final String OCI_LAYER_TAR = "application/vnd.oci.image.layer.v1.tar";
    public static final String REF_NAME = "org.opencontainers.image.ref.name";

    private static final JsonFactory FACTORY = new JsonFactory();
    private static final JsonNodeFactory NODES = JsonNodeFactory.instance;

    private Json() {}

    public static ObjectNode object() {
        return NODES.objectNode();
    }

    public static ArrayNode array() {
        return NODES.arrayNode();
    }

    /** Parses JSON, or fails with the file's role in the message. */
    public static JsonNode parse(byte[] bytes, String what) throws ImageStoreException {
        try (JsonParser p = FACTORY.createParser(bytes)) {
            if (p.nextToken() == null) {
                throw new ImageStoreException(what + " is empty");
            }
            return value(p);
        } catch (IOException e) {
            throw new ImageStoreException(what + " is not valid JSON: " + firstLine(e.getMessage()));
        }
    }

    /** The value at the parser's current token, the parser left on its last token. */
    private static JsonNode value(JsonParser p) throws IOException {
        JsonToken t = p.currentToken();
        switch (t) {
            case START_OBJECT -> {
                ObjectNode o = NODES.objectNode();
                while (p.nextToken() == JsonToken.FIELD_NAME) {
                    String name = p.currentName();
                    p.nextToken();
                    o.set(name, value(p));
                }
                return o;
            }
            case START_ARRAY -> {
                ArrayNode a = NODES.arrayNode();
                while (p.nextToken() != JsonToken.END_ARRAY) {
                    a.add(value(p));
                }
                return a;
            }
            case VALUE_STRING -> {
                return NODES.textNode(p.getText());
            }
            case VALUE_NUMBER_INT -> {
                return switch (p.getNumberType()) {
                    case INT -> NODES.numberNode(p.getIntValue());
                    case LONG -> NODES.numberNode(p.getLongValue());
                    default -> NODES.numberNode(p.getBigIntegerValue());
                };
            }
            case VALUE_NUMBER_FLOAT -> {
                return NODES.numberNode(p.getDoubleValue());
            }
            case VALUE_TRUE, VALUE_FALSE -> {
                return NODES.booleanNode(t == JsonToken.VALUE_TRUE);
            }
            case VALUE_NULL -> {
                return NODES.nullNode();
            }
            default -> throw new IOException("unexpected " + t);
        }
    }

    /** The compact form: no spaces, fields in the order they were set. */
    public static byte[] bytes(JsonNode n) {
        return write(n, false);
    }

    /** Indented, as Jackson's default pretty printer lays it out. */
    public static byte[] pretty(JsonNode n) {
        return write(n, true);
    }

    private static byte[] write(JsonNode n, boolean pretty) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (JsonGenerator g = FACTORY.createGenerator(out)) {
            if (pretty) {
                g.setPrettyPrinter(new DefaultPrettyPrinter());
            }
            write(g, n);
        } catch (IOException e) {
            throw new UncheckedIOException(e); // writing to memory
        }
        return out.toByteArray();
    }

    private static void write(JsonGenerator g, JsonNode n) throws IOException {
        if (n.isObject()) {
            g.writeStartObject();
            for (Iterator<Map.Entry<String, JsonNode>> it = n.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> f = it.next();
                g.writeFieldName(f.getKey());
                write(g, f.getValue());
            }
            g.writeEndObject();
        } else if (n.isArray()) {
            g.writeStartArray();
            for (JsonNode e : n) {
                write(g, e);
            }
            g.writeEndArray();
        } else if (n.isTextual()) {
            g.writeString(n.textValue());
        } else if (n.isInt()) {
            g.writeNumber(n.intValue());
        } else if (n.isLong()) {
            g.writeNumber(n.longValue());
        } else if (n.isBigInteger()) {
            g.writeNumber(n.bigIntegerValue());
        } else if (n.isNumber()) {
            g.writeNumber(n.doubleValue());
        } else if (n.isBoolean()) {
            g.writeBoolean(n.booleanValue());
        } else {
            g.writeNull();
        }
    }

    /** An OCI descriptor. */
    public static ObjectNode descriptor(String mediaType, Digest digest, long size) {
        ObjectNode d = object();
        d.put("mediaType", mediaType);
        d.put("digest", digest.toString());
        d.put("size", size);
        return d;
    }

    /**
     * Whether two documents hold the same values: as {@link JsonNode#equals}, except that an integer equals an
     * integer of the same value whatever Jackson node holds it (a size read back from a file is an int node where
     * it fits, a size the store sets a long node).
     */
    public static boolean sameValue(JsonNode a, JsonNode b) {
        return a.equals(IntegersByValue.INSTANCE, b);
    }

    /** Orders integral numbers by value; any other two values are equal when Jackson says so. */
    private static final class IntegersByValue implements Comparator<JsonNode> {
        static final IntegersByValue INSTANCE = new IntegersByValue();

        @Override
        public int compare(JsonNode a, JsonNode b) {
            if (a.isIntegralNumber() && b.isIntegralNumber()) {
                return a.bigIntegerValue().compareTo(b.bigIntegerValue());
            }
            return a.equals(b) ? 0 : 1;
        }
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
