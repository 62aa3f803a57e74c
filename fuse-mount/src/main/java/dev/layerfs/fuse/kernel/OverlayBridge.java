package dev.layerfs.fuse.kernel;

import dev.layerfs.core.Overlay;
import dev.layerfs.core.attr.Privileges;
import dev.layerfs.core.bytes.ByteString;
import dev.layerfs.core.error.FsException;
import dev.layerfs.core.handle.OpenFile;
import dev.layerfs.core.handle.PinnedFile;
import dev.layerfs.core.model.Caller;
import dev.layerfs.core.nativeio.Stat;
import dev.layerfs.core.nativeio.StatFs;
import dev.layerfs.core.nativeio.Syscalls;
import dev.layerfs.core.nativeio.Timespec;
import dev.layerfs.core.readdir.DirEntry;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The one class of the kernel transport that calls the engine. Paths and names arrive as the kernel sent them,
 * Latin-1 strings with one char per byte, which is the engine's own form: they are wrapped as
 * {@link ByteString}s as they are, so every byte of a name reaches the layers unchanged. Reads and writes go
 * between the request and reply buffers and the real file without a copy. Nothing above this class sees the
 * engine's API.
 */
final class OverlayBridge {
    /** One name of a merged listing: the name's bytes (Latin-1 string), inode number, S_IF* type bits. */
    record Listed(String name, long ino, int type) {}

    private final Overlay overlay;
    private final Syscalls sys = Syscalls.get();

    /** The merged paths the current request copied up, per worker thread, until {@link #takeCopiedUp}. */
    private final ThreadLocal<List<String>> copiedUp = ThreadLocal.withInitial(ArrayList::new);
    /**
     * How many paths the lists of {@link #copiedUp} hold, all threads together: while it is 0, as after almost every
     * request, {@link #takeCopiedUp} does not look its thread's list up (a ThreadLocal lookup makes a call into
     * the VM in C1-compiled code).
     */
    private final AtomicInteger untaken = new AtomicInteger();

    OverlayBridge(Overlay overlay) {
        this.overlay = overlay;
        overlay.watchCopyUps(path -> {
            copiedUp.get().add(path);
            untaken.incrementAndGet();
        });
    }

    /** The paths this thread's request copied up (merged paths, Latin-1), emptied; none for most requests. */
    List<String> takeCopiedUp() {
        if (untaken.get() == 0) {
            return List.of();
        }
        List<String> paths = copiedUp.get();
        if (paths.isEmpty()) {
            return List.of();
        }
        List<String> out = List.copyOf(paths);
        untaken.addAndGet(-paths.size());
        paths.clear();
        return out;
    }

    /** A path or name as the kernel's bytes spell it (a Latin-1 string made from them). */
    private static ByteString engine(String latin1) {
        return ByteString.trusted(latin1);
    }

    boolean readOnly() {
        return overlay.readOnly();
    }

    /** Whether the names of a lower hard link are one object (index=on). */
    boolean indexed() {
        return overlay.indexed();
    }

    Stat stat(String path) throws FsException {
        return overlay.getattr(engine(path));
    }

    Stat fstat(OpenFile f) throws FsException {
        return overlay.fstat(f);
    }

    /** Holds the real object at a path (O_PATH), for its attributes once its name is gone. */
    PinnedFile pin(String path) throws FsException {
        return overlay.pin(engine(path));
    }

    Stat fstat(PinnedFile f) throws FsException {
        return overlay.fstat(f);
    }

    void fchmod(PinnedFile f, int mode) throws FsException {
        overlay.fchmod(f, mode);
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
        Stat upper = sys.lstatIfExists(overlay.stack().upper().get().fd(), path);
        return upper != null && !upper.isDirectory();
    }

    List<Listed> list(String path) throws FsException {
        List<DirEntry> entries = overlay.readdir(engine(path));
        List<Listed> out = new ArrayList<>(entries.size());
        for (DirEntry e : entries) {
            out.add(new Listed(e.latin1Name(), e.ino(), e.type()));
        }
        return out;
    }

    byte[] readlink(String path) throws FsException {
        return overlay.readlink(engine(path)).bytes();
    }

    void access(String path, int mask, Caller caller) throws FsException {
        overlay.access(engine(path), mask, caller);
    }

    StatFs statfs() throws FsException {
        return overlay.statfs();
    }

    /** The change, then the attributes after it. */
    Stat chmod(String path, int mode) throws FsException {
        return overlay.chmod(engine(path), mode);
    }

    /** The change, then the attributes after it. */
    Stat chown(String path, int uid, int gid) throws FsException {
        return overlay.chown(engine(path), uid, gid);
    }

    /** The change, then the attributes after it. */
    Stat utimens(String path, Timespec atime, Timespec mtime) throws FsException {
        return overlay.utimens(engine(path), atime, mtime);
    }

    /** @param unprivileged the groups of a caller without CAP_FSETID, or null (see Overlay#truncate) */
    void truncate(String path, long size, Privileges.Groups unprivileged) throws FsException {
        overlay.truncate(engine(path), size, unprivileged);
    }

    /** setuid and setgid go from a file written or truncated through {@code f} (see Overlay#killPrivileges). */
    void killPrivileges(OpenFile f, Privileges.Groups unprivileged) throws FsException {
        overlay.killPrivileges(f, unprivileged);
    }

    /** @param unprivileged the groups of a caller without CAP_FSETID, or null (see Overlay#chown) */
    Stat chown(String path, int uid, int gid, Privileges.Groups unprivileged) throws FsException {
        return overlay.chown(engine(path), uid, gid, unprivileged);
    }

    /** Whether a caller is taken to hold CAP_FSETID where the kernel does not say. */
    boolean privileged(Caller caller) {
        return overlay.privileged(caller);
    }

    void fchmod(OpenFile f, int mode) throws FsException {
        overlay.fchmod(f, mode);
    }

    void fchown(OpenFile f, int uid, int gid) throws FsException {
        overlay.fchown(f, uid, gid);
    }

    void futimens(OpenFile f, Timespec atime, Timespec mtime) throws FsException {
        overlay.futimens(f, atime, mtime);
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
        for (ByteString n : overlay.listxattr(engine(path))) {
            names.writeBytes(n.bytes());
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

    /** False where the two names are one object, and nothing changed (see {@link Overlay#rename}). */
    boolean rename(String from, String to, int flags) throws FsException {
        return overlay.rename(engine(from), engine(to), flags);
    }

    /**
     * @param fsetid whether the caller holds CAP_FSETID, null where the kernel did not say
     * @param groups the caller's groups, or null
     */
    OpenFile open(String path, int flags, int mode, Caller caller, Boolean fsetid, Privileges.Groups groups)
            throws FsException {
        return overlay.open(engine(path), flags, mode, caller, fsetid, groups);
    }

    /** Reads into a direct buffer (from its position to its limit) until full or at the end; the bytes read. */
    int read(OpenFile f, ByteBuffer dst, long offset) throws FsException {
        return overlay.read(f, dst, offset);
    }

    /** Writes all of a direct buffer's remaining bytes; the bytes written. */
    int write(OpenFile f, ByteBuffer src, long offset) throws FsException {
        return overlay.write(f, src, offset);
    }

    /** lseek on the open file's real file; -1 where SEEK_DATA or SEEK_HOLE finds nothing (ENXIO). */
    long lseek(OpenFile f, long offset, int whence) throws FsException {
        return overlay.lseek(f, offset, whence);
    }

    long copyFileRange(OpenFile in, long inOffset, OpenFile out, long outOffset, long length) throws FsException {
        return overlay.copyFileRange(in, inOffset, out, outOffset, length);
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
