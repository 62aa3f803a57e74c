package dev.layerfs.image;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.layerfs.image.store.Digest;
import dev.layerfs.image.store.ImageStoreException;
import dev.layerfs.image.store.Json;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class JsonTest {
    private static final String DOC = "{\"schemaVersion\":2,\"big\":12345678901234,\"huge\":123456789012345678901234,"
            + "\"f\":1.5,\"t\":true,\"n\":null,\"s\":\"caf\u00e9 \\\"q\\\" \\u0001\",\"a\":[1,{\"x\":[]},\"y\"],\"e\":{}}";

    @Test
    void readsAndWritesWhatAnObjectMapperWouldByteForByte() throws Exception {
        byte[] in = DOC.getBytes(StandardCharsets.UTF_8);
        JsonNode ours = Json.parse(in, "doc");
        ObjectMapper mapper = new ObjectMapper();
        JsonNode theirs = mapper.readTree(in);
        assertEquals(theirs, ours);
        assertArrayEquals(mapper.writeValueAsBytes(theirs), Json.bytes(ours));
        assertArrayEquals(mapper.writerWithDefaultPrettyPrinter().writeValueAsBytes(theirs), Json.pretty(ours));
    }

    @Test
    void sameValueTakesAnIntegerForItsValueWhateverNodeHoldsIt() throws Exception {
        Digest d = Digest.of(new byte[0]);
        JsonNode read = Json.parse(Json.bytes(Json.descriptor(Json.OCI_MANIFEST, d, 1384)), "descriptor");
        assertNotEquals(read, Json.descriptor(Json.OCI_MANIFEST, d, 1384), "an int node is not a long node");
        assertTrue(Json.sameValue(read, Json.descriptor(Json.OCI_MANIFEST, d, 1384)));
        assertFalse(Json.sameValue(read, Json.descriptor(Json.OCI_MANIFEST, d, 1385)));
        assertFalse(Json.sameValue(read, Json.descriptor(Json.OCI_CONFIG, d, 1384)));
        assertFalse(Json.sameValue(Json.parse("[1,2]".getBytes(StandardCharsets.UTF_8), "a"),
                Json.parse("[1,2,3]".getBytes(StandardCharsets.UTF_8), "b")));
    }

    @Test
    void anEmptyOrBrokenDocumentIsOneLineNamingIt() {
        assertEquals("index.json is empty", assertThrows(ImageStoreException.class,
                () -> Json.parse(new byte[0], "index.json")).getMessage());
        String broken = assertThrows(ImageStoreException.class,
                () -> Json.parse("{\"a\":".getBytes(StandardCharsets.UTF_8), "manifest 1234")).getMessage();
        assertTrue(broken.startsWith("manifest 1234 is not valid JSON: ") && !broken.contains("\n"), broken);
    }
}
