package dev.layerfs.core.ops;

import dev.layerfs.core.error.FsException;
import dev.layerfs.core.handle.OpenFile;
import dev.layerfs.core.nativeio.Syscalls;
import java.nio.ByteBuffer;

/**
 * Reads and writes on open files, straight to and from the real descriptor. A file opened with O_DIRECT was
 * opened so on the real file too, whose filesystem then wants the memory aligned (and the offset and length, as
 * the client chose them): where the transport's buffer is not aligned, the data goes through an aligned buffer
 * of this thread's. A short read of an O_DIRECT file is its end (a second read would start at an unaligned
 * offset).
 */
public final class FileIo {
    /** The alignment O_DIRECT wants at most (a page: every filesystem's logical block size is at most that). */
    private static final int ALIGNMENT = 4096;

    private final Syscalls sys = Syscalls.get();
    private final ThreadLocal<ByteBuffer> aligned = new ThreadLocal<>();

    /** Reads into {@code dst} (from its position to its limit) at {@code offset}; returns the bytes read, 0 at the end. */
    public int read(OpenFile f, ByteBuffer dst, long offset) throws FsException {
        if (f.direct() && !isAligned(dst)) {
            ByteBuffer b = alignedBuffer(dst.remaining());
            int n = sys.pread(f.fd(), b, offset);
            b.flip();
            dst.put(b);
            return n;
        }
        int total = 0;
        while (dst.hasRemaining()) {
            int n = sys.pread(f.fd(), dst, offset + total);
            if (n == 0) {
                break;
            }
            total += n;
            if (f.direct()) {
                break;
            }
        }
        return total;
    }

    /** Writes all of {@code src} (from its position to its limit) at {@code offset}; returns the bytes written. */
    public int write(OpenFile f, ByteBuffer src, long offset) throws FsException {
        ByteBuffer from = src;
        if (f.direct() && !isAligned(src)) {
            from = alignedBuffer(src.remaining());
            from.put(src.duplicate()).flip();
        }
        int total = 0;
        while (from.hasRemaining()) {
            total += sys.pwrite(f.fd(), from, offset + total);
        }
        if (from != src) {
            src.position(src.limit());
        }
        return total;
    }

    /**
     * Where the next data or hole starts at or after {@code offset} ({@code whence} SEEK_DATA or SEEK_HOLE, or
     * any other lseek whence), as the real file answers: its holes are the overlay's holes. -1 where there is no
     * more data (the kernel's ENXIO).
     */
    public long seek(OpenFile f, long offset, int whence) throws FsException {
        return sys.lseek(f.fd(), offset, whence);
    }

    /**
     * Copies up to {@code length} bytes from one open file to another, between explicit offsets: with
     * copy_file_range between the real files where their filesystem can (shared extents, no copy through this
     * process), at most {@link #KERNEL_COPY_CHUNK} bytes per call, else through a buffer, at most
     * {@link #COPY_CHUNK}. Returns the bytes copied, which may be fewer than asked (as copy_file_range's may): the
     * caller asks again for the rest.
     */
    public long copyRange(OpenFile in, long inOffset, OpenFile out, long outOffset, long length)
            throws FsException {
        if (length <= 0) {
            return 0;
        }
        long n = sys.copyFileRange(in.fd(), inOffset, out.fd(), outOffset, Math.min(length, KERNEL_COPY_CHUNK));
        if (n >= 0) {
            return n;
        }
        ByteBuffer b = alignedBuffer((int) Math.min(length, COPY_CHUNK));
        int got = sys.pread(in.fd(), b, inOffset);
        b.flip();
        while (b.hasRemaining()) {
            sys.pwrite(out.fd(), b, outOffset + b.position());
        }
        return got;
    }

    /**
     * The most a copy_file_range between the real files copies per call: 8 MiB. Where the filesystem has no
     * shared extents the kernel copies every byte, and 1 GiB in one call held a FUSE worker for 3.6 to 9.7 s
     * (ext4, cold cache, a loaded machine); in 8 MiB calls the longest took 0.24 to 0.55 s on the same machine,
     * for the same CPU time (daemon 1.1 to 1.4 s against 1.0 to 3.0 s), where 1 MiB calls cost the daemon about
     * 2.5 s. The caller's copy_file_range returns short and it asks again, as it must for any short count.
     */
    private static final long KERNEL_COPY_CHUNK = 8 << 20;

    /**
     * The most a buffered copy moves per call: 1 MiB, the largest WRITE the kernel sends (the INIT's max_write),
     * so a COPY_FILE_RANGE served through a buffer holds its worker no longer than a READ and a WRITE would, and
     * the thread's aligned buffer stays that size.
     */
    private static final int COPY_CHUNK = 1 << 20;

    private static boolean isAligned(ByteBuffer b) {
        return b.isDirect() && b.alignmentOffset(b.position(), ALIGNMENT) == 0;
    }

    /** This thread's aligned buffer, cleared, with room for {@code size} bytes and its limit there. */
    private ByteBuffer alignedBuffer(int size) {
        ByteBuffer b = aligned.get();
        if (b == null || b.capacity() < size) {
            int capacity = Math.max(size, 128 * 1024);
            b = ByteBuffer.allocateDirect(capacity + ALIGNMENT).alignedSlice(ALIGNMENT);
            aligned.set(b);
        }
        b.clear().limit(size);
        return b;
    }
}
