package dev.layerfs.it.fuzz;

import java.nio.charset.StandardCharsets;

/**
 * Names and paths as the fuzzer carries them: in <b>text form</b> everywhere (operations, stacks, trees, outcomes,
 * regression tests), as <b>byte strings</b> at the system calls ({@link Sys}: a Java String whose every char is
 * one byte 0-255, passed to libc as ISO-8859-1, so that every byte arrives as it is).
 *
 * <p>The text form of a byte string: printable ASCII stands for itself, except the characters the fuzzer's texts
 * use as separators or markers ({@code % : , ? = [ ] { }} and space) and those a Java text block would not take
 * as they are (backslash, double quote); any other byte is {@code %HH} (two hex digits, upper case), and a run of
 * {@value #RUN} or more equal bytes is {@code %{N}HH} (N times byte HH), so that a 255-byte name or a 4,000-byte
 * path stays readable. The form is canonical ({@link #text} of {@link #bytes} gives
 * back the same text), so texts compare as the bytes do; it needs no escaping in a Java text block.
 */
final class ByteNames {
    /** The shortest run of one byte written as {@code %{N}HH}. */
    static final int RUN = 6;
    private static final String SPECIAL = "%:,?=[]{}\\\"";

    private ByteNames() {}

    /** The text form of a byte string. */
    static String text(String bytes) {
        StringBuilder b = new StringBuilder(bytes.length());
        int i = 0;
        while (i < bytes.length()) {
            char c = bytes.charAt(i);
            if (c > 0xff) {
                throw new IllegalArgumentException("not a byte string: char " + (int) c);
            }
            int run = 1;
            while (i + run < bytes.length() && bytes.charAt(i + run) == c) {
                run++;
            }
            if (run >= RUN) {
                b.append("%{").append(run).append('}').append(hex(c));
                i += run;
                continue;
            }
            if (c > 0x20 && c < 0x7f && SPECIAL.indexOf(c) < 0) {
                b.append(c);
            } else {
                b.append('%').append(hex(c));
            }
            i++;
        }
        return b.toString();
    }

    /** The byte string of a text form. */
    static String bytes(String text) {
        if (text.indexOf('%') < 0) {
            return text;
        }
        StringBuilder b = new StringBuilder(text.length());
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c != '%') {
                b.append(c);
            } else if (text.charAt(i + 1) == '{') {
                int close = text.indexOf('}', i);
                int n = Integer.parseInt(text.substring(i + 2, close));
                char v = (char) Integer.parseInt(text.substring(close + 1, close + 3), 16);
                b.append(String.valueOf(v).repeat(n));
                i = close + 2;
            } else {
                b.append((char) Integer.parseInt(text.substring(i + 1, i + 3), 16));
                i += 2;
            }
        }
        return b.toString();
    }

    /** How many bytes the text form stands for. */
    static int length(String text) {
        return bytes(text).length();
    }

    /** The text form of raw bytes (a listing's name, a link target, an xattr name). */
    static String text(byte[] raw, int from, int len) {
        return text(new String(raw, from, len, StandardCharsets.ISO_8859_1));
    }

    /** The byte string of Java text as UTF-8 (the generator's non-ASCII names). */
    static String utf8(String s) {
        return new String(s.getBytes(StandardCharsets.UTF_8), StandardCharsets.ISO_8859_1);
    }

    private static String hex(char c) {
        return String.format("%02X", (int) c);
    }
}
