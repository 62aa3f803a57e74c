package dev.layerfs.image.importer;

import dev.layerfs.image.store.ObservedStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;

/** Copies every byte read to an output stream (a layer's blob, kept while the layer is extracted). */
final class Tee extends ObservedStream {
    private final OutputStream copy;

    Tee(InputStream in, OutputStream copy) {
        super(in);
        this.copy = copy;
    }

    @Override
    protected void observe(byte[] b, int off, int len) throws IOException {
        copy.write(b, off, len);
    }
}
