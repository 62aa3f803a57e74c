package dev.layerfs.it.fuzz;

import java.util.SplittableRandom;

/**
 * File names beyond short ASCII, for {@link Gen}: any bytes but '/' and NUL. Invalid UTF-8 (a lone 0x80 or 0xff,
 * a lone continuation byte, overlong forms of '/', NUL and '.', a UTF-16 surrogate, a truncated sequence, the
 * 5-byte form), valid non-ASCII UTF-8 (composed and decomposed accents, CJK, an emoji, U+FFFD itself: what a
 * lossy decoding of any of the former turns into), ASCII that the fuzzer's own texts treat specially (space, '%',
 * ':', '?', control bytes), random bytes, and long names: exactly 255 bytes (NAME_MAX), and 251 to 255 (where
 * ".wh." + the name no longer fits in a name). Each is returned in text form ({@link ByteNames}).
 */
final class OddNames {
    /** Fixed names, as byte strings. */
    static final String[] FIXED = {
        "\u0080", "\u00ff", "\u00bf", "\u00c0\u00af", "\u00c0\u0080", "\u00e0\u0080\u00ae", "\u00ed\u00a0\u0080",
        "\u00e2\u0082", "a\u00ffb", "\u00fe\u00fe", "\u00f8\u0088\u0080\u0080\u0080", "\u00c3",
        ByteNames.utf8("\u00e9"), ByteNames.utf8("u\u0308"), ByteNames.utf8("\u00fc"), ByteNames.utf8("\u65e5\u672c"),
        ByteNames.utf8("\ud83d\ude00"), ByteNames.utf8("\ufffd"), ByteNames.utf8("\u03a9"),
        " ", "a b", "%", "?", "a:b", "a,b", "=", "\n", "\t", "\u0001", "\u007f", "-", "...", ".wh", "\\",
    };

    private OddNames() {}

    /** One odd name, in text form. */
    static String any(SplittableRandom r) {
        int k = r.nextInt(100);
        if (k < 55) {
            return ByteNames.text(FIXED[r.nextInt(FIXED.length)]);
        }
        if (k < 70) {
            return ByteNames.text(randomBytes(r, 1 + r.nextInt(20)));
        }
        if (k < 85) {
            return ByteNames.text(longName(r, 255));
        }
        return ByteNames.text(longName(r, 251 + r.nextInt(5)));
    }

    /** A name of exactly {@code len} bytes: one byte repeated, random bytes, or 3-byte UTF-8 characters. */
    static String longName(SplittableRandom r, int len) {
        return switch (r.nextInt(5)) {
            case 0 -> "x".repeat(len);
            case 1 -> "\u00ff".repeat(len);
            case 2 -> randomBytes(r, len);
            case 3 -> {
                String s = ByteNames.utf8("\u65e5").repeat(len / 3);
                yield s + "y".repeat(len - s.length());
            }
            default -> (char) ('a' + r.nextInt(5)) + "\u00e9".repeat(len - 1);
        };
    }

    /** Random bytes but '/' and NUL, not "." or "..", not starting with ".wh." (Allowed.AUFS_ON_LAYERFS_SIDE_ONLY). */
    static String randomBytes(SplittableRandom r, int len) {
        while (true) {
            StringBuilder b = new StringBuilder(len);
            for (int i = 0; i < len; i++) {
                char c;
                do {
                    c = (char) (1 + r.nextInt(255));
                } while (c == '/');
                b.append(c);
            }
            String s = b.toString();
            if (!s.equals(".") && !s.equals("..") && !s.startsWith(".wh.")) {
                return s;
            }
        }
    }
}
