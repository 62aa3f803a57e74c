package dev.layerfs.image.store;

import java.io.IOException;
import java.io.InputStream;
import java.security.MessageDigest;

/** Passes bytes through while hashing them with SHA-256 and counting them. */
public final class CountingDigestStream extends ObservedStream {
    private final MessageDigest sha = Digest.sha256();
    private long count;

    public CountingDigestStream(InputStream in) {
        super(in);
    }

    @Override
    protected void observe(byte[] b, int off, int len) {
        sha.update(b, off, len);
        count += len;
    }

    /** Reads to the end of the stream, so that the digest covers all of it (a tar's trailing padding too). */
    public void drain() throws IOException {
        byte[] buf = new byte[65536];
        while (read(buf, 0, buf.length) >= 0) {
            // hashed by read
        }
    }

    public long count() {
        return count;
    }

    /** The digest of everything read so far; call once, at the end. */
    public Digest digest() {
        return Digest.fromBytes(sha.digest());
    }
}
