package dev.layerfs.image.source;

import dev.layerfs.image.store.ObservedStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;

/** Fails with "truncated" when the stream ends before the length its tar header promised (a cut archive). */
final class ExactLengthStream extends ObservedStream {
    private final long length;
    private final String name;
    private long read;

    ExactLengthStream(InputStream in, long length, String name) {
        super(in);
        this.length = length;
        this.name = name;
    }

    @Override
    protected void observe(byte[] b, int off, int len) {
        read += len;
    }

    @Override
    protected void atEnd() throws IOException {
        if (read < length) {
            throw new EOFException(name + " is truncated: " + read + " of " + length + " bytes");
        }
    }
}
