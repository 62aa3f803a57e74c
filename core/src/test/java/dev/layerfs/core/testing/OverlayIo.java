package dev.layerfs.core.testing;

import dev.layerfs.core.Overlay;
import dev.layerfs.core.error.Errno;
import dev.layerfs.core.error.FsException;
import dev.layerfs.core.handle.OpenFile;
import dev.layerfs.core.model.Caller;
import dev.layerfs.core.nativeio.Linux;
import dev.layerfs.core.readdir.DirEntry;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;

/** Whole-file reads and writes and listings through an {@link Overlay}, for short tests. */
public final class OverlayIo {
    private OverlayIo() {}

    /** The whole content of a merged file, read through a read-only handle. */
    public static String read(Overlay ov, String path) throws FsException {
        OpenFile f = ov.open(path, Linux.O_RDONLY);
        try {
            return readAll(ov, f);
        } finally {
            ov.release(f);
        }
    }

    /** Reads an open file from offset 0 to its end. */
    public static String readAll(Overlay ov, OpenFile f) throws FsException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        byte[] buf = new byte[8192];
        long off = 0;
        int n;
        while ((n = ov.read(f, buf, buf.length, off)) > 0) {
            out.write(buf, 0, n);
            off += n;
        }
        return out.toString(StandardCharsets.UTF_8);
    }

    /** Replaces a merged file's content (open O_WRONLY|O_TRUNC, which copies up). */
    public static void write(Overlay ov, String path, String content) throws FsException {
        OpenFile f = ov.open(path, Linux.O_WRONLY | Linux.O_TRUNC);
        try {
            writeAt(ov, f, content, 0);
        } finally {
            ov.release(f);
        }
    }

    /** Creates a new file (O_CREAT|O_EXCL) as root with mode 0644 and this content. */
    public static void create(Overlay ov, String path, String content) throws FsException {
        create(ov, path, content, 0644, Caller.ROOT);
    }

    public static void create(Overlay ov, String path, String content, int mode, Caller caller)
            throws FsException {
        OpenFile f = ov.open(path, Linux.O_WRONLY | Linux.O_CREAT | Linux.O_EXCL, mode, caller);
        try {
            writeAt(ov, f, content, 0);
        } finally {
            ov.release(f);
        }
    }

    public static void writeAt(Overlay ov, OpenFile f, String content, long offset) throws FsException {
        byte[] b = content.getBytes(StandardCharsets.UTF_8);
        int done = 0;
        while (done < b.length) {
            byte[] rest = java.util.Arrays.copyOfRange(b, done, b.length);
            done += ov.write(f, rest, rest.length, offset + done);
        }
    }

    /** The merged listing's names, sorted. */
    public static List<String> names(Overlay ov, String dir) throws FsException {
        return ov.readdir(dir).stream().map(e -> e.name().toString()).sorted().toList();
    }

    /** True where the merged view has the name (ENOENT: false; any other error is thrown). */
    public static boolean exists(Overlay ov, String path) throws FsException {
        try {
            ov.getattr(path);
            return true;
        } catch (FsException e) {
            if (e.errno() == Errno.ENOENT) {
                return false;
            }
            throw e;
        }
    }
}
