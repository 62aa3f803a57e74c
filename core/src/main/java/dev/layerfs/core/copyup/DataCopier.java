package dev.layerfs.core.copyup;

import dev.layerfs.core.error.Errno;
import dev.layerfs.core.error.FsException;
import dev.layerfs.core.nativeio.Linux;
import dev.layerfs.core.nativeio.Syscalls;
import java.nio.ByteBuffer;

/**
 * Copies a file's data for copy-up, the cheapest way the filesystems allow: a reflink (FICLONE) shares the
 * blocks; otherwise each data extent (SEEK_DATA/SEEK_HOLE, so holes stay holes) goes through copy_file_range,
 * or through pread/pwrite where that is refused.
 */
final class DataCopier {
    private static final int CHUNK = 1 << 20;

    private final Syscalls sys = Syscalls.get();

    /** How the last copies were done, for tests and diagnostics. */
    enum Method {
        REFLINK, COPY_FILE_RANGE, READ_WRITE, EMPTY
    }

    Method copy(int src, int dst, long size) throws FsException {
        if (size == 0) {
            return Method.EMPTY;
        }
        if (sys.ficlone(dst, src)) {
            return Method.REFLINK;
        }
        Method method = Method.COPY_FILE_RANGE;
        long off = 0;
        while (off < size) {
            long data = seek(src, off, Linux.SEEK_DATA, off);
            if (data < 0 || data >= size) {
                break;
            }
            long hole = seek(src, data, Linux.SEEK_HOLE, size);
            if (hole < 0 || hole > size) {
                hole = size;
            }
            if (copyRange(src, dst, data, hole - data) == Method.READ_WRITE) {
                method = Method.READ_WRITE;
            }
            off = hole;
        }
        sys.ftruncate(dst, size);
        return method;
    }

    /** lseek for extents; where the filesystem cannot tell data from holes, all of the file is data. */
    private long seek(int fd, long off, int whence, long fallback) throws FsException {
        try {
            return sys.lseek(fd, off, whence);
        } catch (FsException e) {
            if (e.errno() == Errno.EINVAL || e.errno() == Errno.EOPNOTSUPP) {
                return fallback;
            }
            throw e;
        }
    }

    private Method copyRange(int src, int dst, long off, long len) throws FsException {
        long done = 0;
        while (done < len) {
            long n = sys.copyFileRange(src, off + done, dst, off + done, len - done);
            if (n < 0) {
                readWrite(src, dst, off + done, len - done);
                return Method.READ_WRITE;
            }
            if (n == 0) {
                break;
            }
            done += n;
        }
        return Method.COPY_FILE_RANGE;
    }

    private void readWrite(int src, int dst, long off, long len) throws FsException {
        ByteBuffer buf = ByteBuffer.allocateDirect((int) Math.min(CHUNK, len));
        long done = 0;
        while (done < len) {
            buf.clear().limit((int) Math.min(buf.capacity(), len - done));
            int n = sys.pread(src, buf, off + done);
            if (n == 0) {
                break;
            }
            buf.flip();
            while (buf.hasRemaining()) {
                sys.pwrite(dst, buf, off + done + buf.position());
            }
            done += n;
        }
    }
}
