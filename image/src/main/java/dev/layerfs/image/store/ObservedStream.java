package dev.layerfs.image.store;

import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;

/**
 * An input stream that shows every byte it passes on to {@link #observe}, skipped ones too (skip reads), and
 * tells {@link #atEnd} when the underlying stream ends. The base of the streams that hash, copy or parse a layer
 * on its way to the extractor.
 */
public abstract class ObservedStream extends FilterInputStream {
    protected ObservedStream(InputStream in) {
        super(in);
    }

    /** Called with each run of bytes read, in order. */
    protected abstract void observe(byte[] b, int off, int len) throws IOException;

    /** Called when a read finds the end of the underlying stream. */
    protected void atEnd() throws IOException {
        // nothing by default
    }

    @Override
    public int read() throws IOException {
        byte[] one = new byte[1];
        int n = read(one, 0, 1);
        return n < 0 ? -1 : one[0] & 0xff;
    }

    @Override
    public int read(byte[] buf, int off, int len) throws IOException {
        int n = in.read(buf, off, len);
        if (n > 0) {
            observe(buf, off, n);
        } else if (n < 0) {
            atEnd();
        }
        return n;
    }

    @Override
    public long skip(long n) throws IOException {
        byte[] buf = new byte[(int) Math.min(65536, Math.max(n, 1))];
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
}
