package dev.layerfs.core.bytes;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * A name, path, symbolic link target or xattr name as Linux has it: any bytes (but NUL; and {@code /} in a name).
 * Nothing is decoded: {@code \x80} and {@code \xff} are two different names, and a name of 255 bytes is 255 bytes
 * whatever they are.
 *
 * <p>The engine keeps such bytes in its own form, a {@code String} whose every char is one byte (0–255), as
 * ISO-8859-1 maps them: {@link #latin1()}. That form costs nothing to make from bytes or to turn back into them
 * (both are a plain copy), takes one byte per char in memory (the JVM's compact strings), and keeps every
 * {@code String} operation the engine uses on paths ({@code indexOf('/')}, {@code substring}, hashing, sorting by
 * byte) meaning what it meant. Values of this class carry that form across the engine's public API, so that a
 * caller never mistakes it for text; text is converted explicitly: {@link #utf8(String)} and {@link #toString()}.
 */
public final class ByteString implements Comparable<ByteString> {
    public static final ByteString EMPTY = new ByteString("");

    private final String latin1;

    private ByteString(String latin1) {
        this.latin1 = latin1;
    }

    /** The bytes of a UTF-8 text: what a Java caller means by a name such as {@code "café"}. */
    public static ByteString utf8(String text) {
        return new ByteString(new String(text.getBytes(StandardCharsets.UTF_8), StandardCharsets.ISO_8859_1));
    }

    /**
     * The bytes of a {@link java.nio.file.Path} as the JVM hands it to the kernel (the platform's path encoding,
     * {@code sun.jnu.encoding}): for paths that came from the command line or from {@code java.nio.file}.
     */
    public static ByteString ofPath(java.nio.file.Path path) {
        return new ByteString(new String(path.toString().getBytes(PATH_CHARSET), StandardCharsets.ISO_8859_1));
    }

    private static final java.nio.charset.Charset PATH_CHARSET = pathCharset();

    private static java.nio.charset.Charset pathCharset() {
        try {
            return java.nio.charset.Charset.forName(System.getProperty("sun.jnu.encoding", "UTF-8"));
        } catch (RuntimeException e) {
            return StandardCharsets.UTF_8;
        }
    }

    /** These bytes (copied). */
    public static ByteString of(byte[] bytes) {
        return new ByteString(new String(bytes, StandardCharsets.ISO_8859_1));
    }

    /** {@code length} bytes of {@code bytes} from {@code offset} (copied). */
    public static ByteString of(byte[] bytes, int offset, int length) {
        return new ByteString(new String(bytes, offset, length, StandardCharsets.ISO_8859_1));
    }

    /**
     * Wraps the engine's form: a string whose every char is one byte. A char above 0xFF is not a byte: that is an
     * {@link IllegalArgumentException} (text must go through {@link #utf8(String)}).
     */
    public static ByteString latin1(String oneCharPerByte) {
        requireBytes(oneCharPerByte);
        return new ByteString(oneCharPerByte);
    }

    /** As {@link #latin1(String)}, without the check, for strings the engine made itself. */
    public static ByteString trusted(String oneCharPerByte) {
        return new ByteString(oneCharPerByte);
    }

    /** Throws where a string has a char that is not a byte. */
    public static String requireBytes(String s) {
        for (int i = 0; i < s.length(); i++) {
            if (s.charAt(i) > 0xFF) {
                throw new IllegalArgumentException("not a byte string (char U+"
                        + Integer.toHexString(s.charAt(i)).toUpperCase() + " at " + i
                        + "): convert text with ByteString.utf8");
            }
        }
        return s;
    }

    /** The engine's form: one char per byte. */
    public String latin1() {
        return latin1;
    }

    public byte[] bytes() {
        return latin1.getBytes(StandardCharsets.ISO_8859_1);
    }

    /** The number of bytes. */
    public int length() {
        return latin1.length();
    }

    public boolean isEmpty() {
        return latin1.isEmpty();
    }

    /** Puts the bytes into a buffer. */
    public void putInto(ByteBuffer buffer) {
        for (int i = 0; i < latin1.length(); i++) {
            buffer.put((byte) latin1.charAt(i));
        }
    }

    /** The bytes as UTF-8 text where they are valid UTF-8, else null. */
    public String utf8OrNull() {
        try {
            return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(bytes())).toString();
        } catch (CharacterCodingException e) {
            return null;
        }
    }

    /**
     * The bytes as text, for messages and logs: UTF-8 where they are valid UTF-8; otherwise every byte that is
     * not printable ASCII as {@code \xNN} (and a backslash as {@code \\}), so that two different names never
     * print the same.
     */
    @Override
    public String toString() {
        return display(latin1);
    }

    /** {@link #toString()} of a string in the engine's form. */
    public static String display(String oneCharPerByte) {
        boolean ascii = true;
        for (int i = 0; i < oneCharPerByte.length() && ascii; i++) {
            char c = oneCharPerByte.charAt(i);
            ascii = c >= 0x20 && c < 0x7F && c != '\\';
        }
        if (ascii) {
            return oneCharPerByte;
        }
        String text = new ByteString(oneCharPerByte).utf8OrNull();
        if (text != null && text.chars().noneMatch(c -> c < 0x20 || c == 0x7F || c == '\\')) {
            return text;
        }
        StringBuilder sb = new StringBuilder(oneCharPerByte.length() + 16);
        for (int i = 0; i < oneCharPerByte.length(); i++) {
            char c = oneCharPerByte.charAt(i);
            if (c == '\\') {
                sb.append("\\\\");
            } else if (c >= 0x20 && c < 0x7F) {
                sb.append(c);
            } else {
                sb.append(String.format("\\x%02x", (int) c));
            }
        }
        return sb.toString();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ByteString b && b.latin1.equals(latin1);
    }

    @Override
    public int hashCode() {
        return latin1.hashCode();
    }

    /** Byte order, unsigned, as {@code memcmp}. */
    @Override
    public int compareTo(ByteString o) {
        return latin1.compareTo(o.latin1);
    }

    /** True where the bytes equal these (for tests and callers holding arrays). */
    public boolean contentEquals(byte[] bytes) {
        return Arrays.equals(bytes(), bytes);
    }
}
