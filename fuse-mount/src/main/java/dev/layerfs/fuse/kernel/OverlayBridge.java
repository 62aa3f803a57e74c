package dev.layerfs.fuse.kernel;

import dev.layerfs.core.Overlay;
import dev.layerfs.core.error.FsException;
import dev.layerfs.core.handle.OpenFile;
import dev.layerfs.core.model.Caller;
import dev.layerfs.core.nativeio.Stat;
import dev.layerfs.core.nativeio.StatFs;
import dev.layerfs.core.nativeio.Syscalls;
import dev.layerfs.core.nativeio.Timespec;
import dev.layerfs.core.readdir.DirEntry;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import jnr.ffi.Pointer;

/**
 * The one class of the kernel transport that calls the engine. Paths and names arrive as the kernel sent them,
 * Latin-1 strings with one char per byte; this class turns them into what {@link Overlay} takes (today UTF-8
 * Java strings) and turns what it returns back into bytes. Nothing above it sees the engine's API, so a change of
 * that API (byte-string names, ByteBuffer reads) is a change of this class only.
 */
final class OverlayBridge {
    /** One name of a merged listing: the name's bytes (Latin-1 string), inode number, S_IF* type bits. */
    record Listed(String name, long ino, int type) {}

    private final Overlay overlay;
    private final Syscalls sys = Syscalls.get();
    private final jnr.ffi.Runtime runtime = sys.runtime();

    OverlayBridge(Overlay overlay) {
        this.overlay = overlay;
    }

    /** The engine's form of a path the kernel's bytes spell. */
    private static String engine(String latin1) {
        return new String(latin1.getBytes(StandardCharsets.ISO_8859_1), StandardCharsets.UTF_8);
    }

    /** The kernel's bytes, as a Latin-1 string, of a name the engine gives. */
    private static String wire(String engineName) {
        return new String(engineName.getBytes(StandardCharsets.UTF_8), StandardCharsets.ISO_8859_1);
    }

    boolean readOnly() {
        return overlay.readOnly();
    }

    Stat stat(String path) throws FsException {
        return overlay.getattr(engine(path));
    }

    Stat fstat(OpenFile f) throws FsException {
        return overlay.fstat(f);
    }

    /**
     * Whether the object at a path, with these attributes, is a hard link that the kernel overlay shows as one
     * inode with its other names: a non-directory with more than one link whose topmost copy is in the upper
     * layer. Hard links that exist only in a lower layer are separate inodes there (a copy-up breaks them).
     */
    boolean sharedHardLink(String path, Stat st) throws FsException {
        if (st.isDirectory() || st.nlink() < 2 || overlay.stack().upper().isEmpty()) {
            return false;
        }
        Stat upper = sys.lstatIfExists(overlay.stack().upper().get().fd(), engine(path));
        return upper != null && !upper.isDirectory();
    }

    List<Listed> list(String path) throws FsException {
        List<DirEntry> entries = overlay.readdir(engine(path));
        List<Listed> out = new ArrayList<>(entries.size());
        for (DirEntry e : entries) {
            out.add(new Listed(wire(e.name()), e.ino(), e.type()));
        }
        return out;
    }

    byte[] readlink(String path) throws FsException {
        return overlay.readlink(engine(path)).getBytes(StandardCharsets.UTF_8);
    }

    void access(String path, int mask, Caller caller) throws FsException {
        overlay.access(engine(path), mask, caller);
    }

    StatFs statfs() throws FsException {
        return overlay.statfs();
    }

    void chmod(String path, int mode) throws FsException {
        overlay.chmod(engine(path), mode);
    }

    void chown(String path, int uid, int gid) throws FsException {
        overlay.chown(engine(path), uid, gid);
    }

    void utimens(String path, Timespec atime, Timespec mtime) throws FsException {
        overlay.utimens(engine(path), atime, mtime);
    }

    void truncate(String path, long size) throws FsException {
        overlay.truncate(engine(path), size);
    }

    void ftruncate(OpenFile f, long size) throws FsException {
        overlay.ftruncate(f, size);
    }

    byte[] getxattr(String path, String name) throws FsException {
        return overlay.getxattr(engine(path), engine(name));
    }

    /** The names, each followed by a NUL, as listxattr(2) returns them. */
    byte[] listxattr(String path) throws FsException {
        ByteArrayOutputStream names = new ByteArrayOutputStream();
        for (String n : overlay.listxattr(engine(path))) {
            names.writeBytes(n.getBytes(StandardCharsets.UTF_8));
            names.write(0);
        }
        return names.toByteArray();
    }

    void setxattr(String path, String name, byte[] value, int flags) throws FsException {
        overlay.setxattr(engine(path), engine(name), value, flags);
    }

    void removexattr(String path, String name) throws FsException {
        overlay.removexattr(engine(path), engine(name));
    }

    void mkdir(String path, int mode, Caller caller) throws FsException {
        overlay.mkdir(engine(path), mode, caller);
    }

    void mknod(String path, int mode, long rdev, Caller caller) throws FsException {
        overlay.mknod(engine(path), mode, rdev, caller);
    }

    void symlink(String target, String path, Caller caller) throws FsException {
        overlay.symlink(engine(target), engine(path), caller);
    }

    void link(String from, String to) throws FsException {
        overlay.link(engine(from), engine(to));
    }

    void unlink(String path) throws FsException {
        overlay.unlink(engine(path));
    }

    void rmdir(String path) throws FsException {
        overlay.rmdir(engine(path));
    }

    void rename(String from, String to, int flags) throws FsException {
        overlay.rename(engine(from), engine(to), flags);
    }

    OpenFile open(String path, int flags, int mode, Caller caller) throws FsException {
        return overlay.open(engine(path), flags, mode, caller);
    }

    /** Reads into a direct buffer (from its position to its limit) until full or at the end; the bytes read. */
    int read(OpenFile f, ByteBuffer dst, long offset) throws FsException {
        Pointer p = Pointer.wrap(runtime, dst);
        int size = dst.remaining();
        int total = 0;
        while (total < size) {
            int n = overlay.read(f, p.slice(total), size - total, offset + total);
            if (n == 0) {
                break;
            }
            total += n;
        }
        return total;
    }

    /** Writes all of a direct buffer's remaining bytes; the bytes written. */
    int write(OpenFile f, ByteBuffer src, long offset) throws FsException {
        Pointer p = Pointer.wrap(runtime, src);
        int size = src.remaining();
        int total = 0;
        while (total < size) {
            total += overlay.write(f, p.slice(total), size - total, offset + total);
        }
        return total;
    }

    void fallocate(OpenFile f, int mode, long offset, long length) throws FsException {
        overlay.fallocate(f, mode, offset, length);
    }

    void fsync(OpenFile f, boolean dataOnly) throws FsException {
        overlay.fsync(f, dataOnly);
    }

    void release(OpenFile f) {
        overlay.release(f);
    }
}
