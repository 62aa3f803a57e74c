package dev.layerfs.image.store;

import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.security.MessageDigest;

/** Passes bytes through while hashing them with SHA-256 and counting them. */
public final class CountingDigestStream extends FilterInputStream {
    private final MessageDigest sha = Digest.sha256();
    private long count;

    public CountingDigestStream(InputStream in) {
        super(in);
    }

    @Override
    public int read() throws IOException {
        int b = in.read();
        if (b >= 0) {
            sha.update((byte) b);
            count++;
        }
        return b;
    }

    @Override
    public int read(byte[] buf, int off, int len) throws IOException {
        int n = in.read(buf, off, len);
        if (n > 0) {
            sha.update(buf, off, n);
            count += n;
        }
        return n;
    }

    @Override
    public long skip(long n) throws IOException {
        byte[] buf = new byte[8192];
        long done = 0;
        while (done < n) {
            int r = read(buf, 0, (int) Math.min(buf.length, n - done));
            if (r < 0) {
                break;
            }
            done += r;
        }
        return done;
    }

    @Override
    public boolean markSupported() {
        return false;
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
