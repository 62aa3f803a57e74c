package dev.layerfs.core.bytes;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Test;

class ByteStringTest {
    @Test
    void everyByteRoundTrips() {
        byte[] all = new byte[256];
        for (int i = 0; i < 256; i++) {
            all[i] = (byte) i;
        }
        ByteString b = ByteString.of(all);
        assertEquals(256, b.length());
        assertArrayEquals(all, b.bytes());
        assertEquals(b, ByteString.latin1(b.latin1()));
        Random r = new Random(7);
        for (int n = 0; n < 1000; n++) {
            byte[] x = new byte[r.nextInt(300)];
            r.nextBytes(x);
            assertArrayEquals(x, ByteString.of(x).bytes());
        }
    }

    @Test
    void textIsUtf8AndBytesThatAreNotStayApart() {
        assertArrayEquals(new byte[] {'c', 'a', 'f', (byte) 0xc3, (byte) 0xa9}, ByteString.utf8("café").bytes());
        assertEquals("café", ByteString.utf8("café").toString());
        ByteString x80 = ByteString.of(new byte[] {(byte) 0x80});
        ByteString xff = ByteString.of(new byte[] {(byte) 0xff});
        assertNotEquals(x80, xff);
        assertEquals("\\x80", x80.toString());
        assertEquals("\\xff", xff.toString());
        assertNull(xff.utf8OrNull());
        assertEquals("a\\\\b\\x0a", ByteString.of("a\\b\n".getBytes()).toString(), "escapes never collide");
    }

    @Test
    void aCharThatIsNotAByteIsRefused() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ByteString.latin1("€"));
        assertTrue(e.getMessage().contains("ByteString.utf8"), e.getMessage());
    }

    @Test
    void orderIsUnsignedByteOrder() {
        ByteString a = ByteString.of(new byte[] {0x7f});
        ByteString b = ByteString.of(new byte[] {(byte) 0x80});
        assertTrue(a.compareTo(b) < 0);
    }
}
