package dev.layerfs.image.store;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/** A content digest as OCI writes it, {@code sha256:} and 64 lower-case hex digits; the only algorithm accepted. */
public record Digest(String hex) implements Comparable<Digest> {
    public Digest {
        if (!isHex64(hex)) {
            throw new IllegalArgumentException("not a sha256 digest: " + hex);
        }
    }

    /** 64 lower-case hex digits. */
    private static boolean isHex64(String s) {
        if (s.length() != 64) {
            return false;
        }
        for (int i = 0; i < 64; i++) {
            char c = s.charAt(i);
            if ((c < '0' || c > '9') && (c < 'a' || c > 'f')) {
                return false;
            }
        }
        return true;
    }

    /** Parses {@code sha256:HEX}; anything else (another algorithm, a bad length) is an IllegalArgumentException. */
    public static Digest parse(String s) {
        if (s == null || !s.startsWith("sha256:")) {
            throw new IllegalArgumentException("not a sha256 digest: " + s);
        }
        return new Digest(s.substring(7));
    }

    public static Digest of(byte[] data) {
        return fromBytes(sha256().digest(data));
    }

    public static Digest fromBytes(byte[] sha256) {
        return new Digest(HexFormat.of().formatHex(sha256));
    }

    public static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JDK has no SHA-256", e);
        }
    }

    /** The first 12 hex digits, as docker and podman show IDs. */
    public String shortHex() {
        return hex.substring(0, 12);
    }

    @Override
    public int compareTo(Digest o) {
        return hex.compareTo(o.hex);
    }

    // equals and hashCode written out: a record's own are bootstrapped through invokedynamic on first use, which
    // spun two dozen method-handle classes outside the class-data archive in every command that keys a map by digest

    @Override
    public boolean equals(Object o) {
        return o instanceof Digest d && hex.equals(d.hex);
    }

    @Override
    public int hashCode() {
        return hex.hashCode();
    }

    @Override
    public String toString() {
        return "sha256:" + hex;
    }
}
