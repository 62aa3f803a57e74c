package dev.layerfs.image;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.layerfs.image.names.ByteNames;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class ByteNamesTest {
    @Test
    void aNameIsShownAsUtf8WhereValidAndEachOtherByteEscaped() {
        assertEquals("data/new\\xff", ByteNames.display(bytes("data/new", 0xff)));
        assertEquals("café", ByteNames.display("café".getBytes(StandardCharsets.UTF_8)));
        assertEquals("latin\\xe9", ByteNames.display(bytes("latin", 0xe9)));
        // a UTF-8 lead byte without its continuation, an overlong form, a control byte
        assertEquals("a\\xc3", ByteNames.display(bytes("a", 0xc3)));
        assertEquals("\\xc0\\x80", ByteNames.display(new byte[] {(byte) 0xc0, (byte) 0x80}));
        assertEquals("line\\x0a", ByteNames.display(bytes("line", '\n')));
    }

    @Test
    void aBackslashIsEscapedSoNoTwoNamesPrintAlike() {
        byte[] literal = "a\\x41".getBytes(StandardCharsets.US_ASCII);
        assertEquals("a\\\\x41", ByteNames.display(literal));
        assertEquals("a\\\\x41", ByteNames.display("a\\x41"));
        assertEquals("a\\xff", ByteNames.display(bytes("a", 0xff)), "differs from the name a\\xff written out");
        assertEquals("a\\\\xff", ByteNames.display("a\\xff".getBytes(StandardCharsets.US_ASCII)));
        assertEquals("caf\u00e9\\\\", ByteNames.display("caf\u00e9\\".getBytes(StandardCharsets.UTF_8)));
        assertEquals("tab\\x09", ByteNames.display("tab\t"), "a control char of an ASCII name too");
    }

    @Test
    void aSystemCallsNameEndsWithOneNul() {
        byte[] c = ByteNames.cString(bytes("x", 0xff));
        assertEquals(3, c.length);
        assertEquals(0, c[2]);
        assertEquals((byte) 0xff, c[1]);
    }

    private static byte[] bytes(String ascii, int last) {
        byte[] a = ascii.getBytes(StandardCharsets.US_ASCII);
        byte[] b = java.util.Arrays.copyOf(a, a.length + 1);
        b[a.length] = (byte) last;
        return b;
    }
}
