package dev.layerfs.image.names;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.Charset;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/**
 * File names are bytes: a layer tar may hold names that are not UTF-8, and the store keeps them as they are. Java's
 * file APIs turn a String into a name with the JVM's {@code sun.jnu.encoding}; bin/layerfs runs the image commands
 * in an ISO-8859-1 locale, where that is one char per byte and every name round-trips. This class says how a
 * name's bytes become the String the file APIs take, how such a String gives its bytes back, and how a name is
 * shown to a person (UTF-8 where it is valid UTF-8, each other byte as {@code \xNN}, a backslash as {@code \\}, so
 * that two different names never print the same).
 *
 * <p>Archive names (tar headers, PAX records) are read as ISO-8859-1 Strings, one char per byte, whatever the
 * locale; {@link #fsName} turns one into the file system's form.
 */
public final class ByteNames {
    /** The charset the file APIs encode names with. */
    private static final Charset FS = fsCharset();
    private static final boolean EXACT = FS.equals(StandardCharsets.ISO_8859_1);

    private ByteNames() {}

    private static Charset fsCharset() {
        try {
            return Charset.forName(System.getProperty("sun.jnu.encoding", "UTF-8"));
        } catch (RuntimeException e) {
            return StandardCharsets.UTF_8;
        }
    }

    /** Whether every byte string is a file name here (the JVM runs in an ISO-8859-1 locale). */
    public static boolean exact() {
        return EXACT;
    }

    /** An archive's name (one char per byte) as the String the file APIs take for those bytes. */
    public static String fsName(String archiveName) throws IOException {
        if (EXACT || isAscii(archiveName)) {
            return archiveName;
        }
        byte[] b = archiveName.getBytes(StandardCharsets.ISO_8859_1);
        try {
            return strictDecoder(FS).decode(ByteBuffer.wrap(b)).toString();
        } catch (CharacterCodingException e) {
            throw new IOException("the name " + display(b) + " is not " + FS.name() + " and this JVM cannot"
                    + " write it: run it through bin/layerfs, which uses an ISO-8859-1 locale (localedef, from"
                    + " the Debian package locales)");
        }
    }

    /** The bytes of a name the file APIs gave (or took) as a String. */
    public static byte[] bytes(String fsName) {
        return fsName.getBytes(FS);
    }

    public static byte[] bytes(Path p) {
        return bytes(p.toString());
    }

    /** The bytes of a name the file APIs gave, as an archive name (one char per byte). */
    public static String archiveName(String fsName) {
        return EXACT ? fsName : new String(bytes(fsName), StandardCharsets.ISO_8859_1);
    }

    /** A path's bytes followed by a NUL, as a system call takes them. */
    public static byte[] cString(Path p) {
        return cString(bytes(p));
    }

    public static byte[] cString(byte[] b) {
        byte[] c = new byte[b.length + 1];
        System.arraycopy(b, 0, c, 0, b.length);
        return c;
    }

    /**
     * A name for a person: UTF-8 where the bytes are valid UTF-8, any other byte (and control bytes) as \xNN, and a
     * backslash as \\ (as core's ByteString shows names), so that no two names print alike.
     */
    public static String display(byte[] b) {
        StringBuilder sb = new StringBuilder(b.length);
        int i = 0;
        while (i < b.length) {
            int c = b[i] & 0xff;
            // the length of the UTF-8 sequence this byte would start (0: it starts none)
            int n = c < 0x80 ? 1 : c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3
                    : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
            if (c == '\\') {
                sb.append("\\\\");
                i++;
                continue;
            }
            if (n == 1 && c >= 0x20 && c != 0x7f) {
                sb.append((char) c);
                i++;
                continue;
            }
            if (n > 1 && i + n <= b.length) {
                try {
                    sb.append(strictDecoder(StandardCharsets.UTF_8).decode(ByteBuffer.wrap(b, i, n)));
                    i += n;
                    continue;
                } catch (CharacterCodingException e) {
                    // not a UTF-8 sequence: escaped below, byte by byte
                }
            }
            sb.append(String.format("\\x%02x", c));
            i++;
        }
        return sb.toString();
    }

    /** A name the file APIs gave, for a person. */
    public static String display(String fsName) {
        return isPlain(fsName) ? fsName : display(bytes(fsName));
    }

    public static String display(Path p) {
        return display(p.toString());
    }

    /**
     * A message for a person that may hold names the file APIs gave (an exception's text): in an ISO-8859-1 JVM
     * such names are one char per byte, so a message of such chars is shown as its bytes are.
     */
    public static String displayMessage(String message) {
        if (message == null || !EXACT || isAscii(message)) {
            return message;
        }
        for (int i = 0; i < message.length(); i++) {
            if (message.charAt(i) > 0xff) {
                return message;
            }
        }
        return display(message.getBytes(StandardCharsets.ISO_8859_1));
    }

    /** Printable ASCII without a backslash: shown as it is. */
    private static boolean isPlain(String s) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c < 0x20 || c >= 0x7f || c == '\\') {
                return false;
            }
        }
        return true;
    }

    private static boolean isAscii(String s) {
        for (int i = 0; i < s.length(); i++) {
            if (s.charAt(i) >= 0x80) {
                return false;
            }
        }
        return true;
    }

    private static CharsetDecoder strictDecoder(Charset cs) {
        return cs.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
    }
}
