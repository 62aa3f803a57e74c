package dev.layerfs.image.source;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;

/**
 * A region of a file, read with positional reads ({@code pread}): the channel's own position is never used, so any
 * number of regions of one open file can be read at once from different threads.
 */
final class RegionStream extends InputStream {
    private final FileChannel channel;
    private final long end;
    private long pos;
    /** {@link #read()}'s one byte, kept: a stream is read by one thread at a time. */
    private final byte[] one = new byte[1];

    RegionStream(FileChannel channel, long offset, long length) {
        this.channel = channel;
        this.pos = offset;
        this.end = offset + length;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
        if (len == 0) {
            return 0;
        }
        long left = end - pos;
        if (left <= 0) {
            return -1;
        }
        int n = channel.read(ByteBuffer.wrap(b, off, (int) Math.min(len, left)), pos);
        if (n < 0) {
            return -1; // the file is shorter than its tar index says: the reader's length check reports it
        }
        pos += n;
        return n;
    }

    @Override
    public int read() throws IOException {
        return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
    }

    @Override
    public long skip(long n) {
        long k = Math.max(0, Math.min(n, end - pos));
        pos += k;
        return k;
    }

    @Override
    public int available() {
        return (int) Math.min(Integer.MAX_VALUE, Math.max(0, end - pos));
    }
}
