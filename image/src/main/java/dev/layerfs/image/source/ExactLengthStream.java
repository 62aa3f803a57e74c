package dev.layerfs.image.source;

import java.io.EOFException;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;

/** Fails with "truncated" when the stream ends before the length its tar header promised (a cut archive). */
final class ExactLengthStream extends FilterInputStream {
    private final long length;
    private final String name;
    private long read;

    ExactLengthStream(InputStream in, long length, String name) {
        super(in);
        this.length = length;
        this.name = name;
    }

    @Override
    public int read() throws IOException {
        int b = in.read();
        count(b < 0 ? -1 : 1);
        return b;
    }

    @Override
    public int read(byte[] buf, int off, int len) throws IOException {
        int n = in.read(buf, off, len);
        count(n);
        return n;
    }

    private void count(int n) throws IOException {
        if (n < 0) {
            if (read < length) {
                throw new EOFException(name + " is truncated: " + read + " of " + length + " bytes");
            }
        } else {
            read += n;
        }
    }
}
