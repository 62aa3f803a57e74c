package dev.layerfs.fuse;

import com.kenai.jffi.MemoryIO;
import dev.layerfs.core.Overlay;
import dev.layerfs.core.bytes.ByteString;
import dev.layerfs.core.error.Errno;
import dev.layerfs.core.error.FsException;
import dev.layerfs.core.handle.HandleTable;
import dev.layerfs.core.handle.OpenFile;
import dev.layerfs.core.model.Caller;
import dev.layerfs.core.nativeio.Linux;
import dev.layerfs.core.nativeio.Stat;
import dev.layerfs.core.nativeio.StatFs;
import dev.layerfs.core.readdir.DirEntry;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import jnr.ffi.Pointer;
import jnr.ffi.Runtime;
import ru.serce.jnrfuse.FuseFillDir;
import ru.serce.jnrfuse.FuseStubFS;
import ru.serce.jnrfuse.struct.FileStat;
import ru.serce.jnrfuse.struct.FuseContext;
import ru.serce.jnrfuse.struct.FuseFileInfo;
import ru.serce.jnrfuse.struct.Statvfs;
import ru.serce.jnrfuse.struct.Timespec;

/**
 * The FUSE face of an {@link Overlay}. Each callback decodes its arguments, calls the engine and answers, inside
 * {@link FuseCall#run}. Open files and directories get a handle ({@code fi.fh}) in a table: reads and writes go
 * to the real descriptor straight from and into FUSE's buffer, and never look the path up again (libfuse passes
 * no path for them: see {@link #operations}).
 *
 * <p>Names are bytes. jnr-fuse turns every C string into a Java {@code String} and back with the JVM's default
 * charset, which the launcher sets to ISO-8859-1 for this transport ({@link MountDaemon} refuses to mount
 * otherwise): each char is then one byte of the name, the engine's own form ({@link ByteString}), and nothing is
 * decoded or lost on the way.
 */
final class OverlayFuse extends FuseStubFS {
    private final Overlay overlay;
    private final HiddenFiles hidden;
    private final HandleTable<OpenFile> files = new HandleTable<>();
    private final HandleTable<List<DirEntry>> directories = new HandleTable<>();
    private final CountDownLatch initialized = new CountDownLatch(1);

    OverlayFuse(Overlay overlay) {
        this.overlay = overlay;
        this.hidden = new HiddenFiles(overlay);
    }

    /**
     * The callback table jnr-fuse built for the methods this class overrides, for {@link FuseSession}, with the
     * three flags of libfuse 2's {@code struct fuse_operations} that jnr-fuse leaves as padding switched on:
     * {@code flag_nullpath_ok} and {@code flag_nopath} (calls on an open file pass only its handle, so an
     * unlinked open file keeps working and no path is built for each read and write), and
     * {@code flag_utime_omit_ok} (utimens receives UTIME_NOW and UTIME_OMIT as they are, so touch -m works).
     */
    ru.serce.jnrfuse.struct.FuseOperations operations() {
        int nullpathOk = 1;
        int nopath = 1 << 1;
        int utimeOmitOk = 1 << 2;
        // The flags are bits of the unsigned int that follows the struct's first 38 function pointers
        // (getattr .. bmap), in libfuse 2's ABI.
        long flagsOffset = 38L * Runtime.getSystemRuntime().addressSize();
        jnr.ffi.Struct.getMemory(fuseOperations).putByte(flagsOffset, (byte) (nullpathOk | nopath | utimeOmitOk));
        return fuseOperations;
    }

    /** Counts down once the kernel has sent INIT: the mount exists and the loop runs. */
    CountDownLatch initialized() {
        return initialized;
    }

    @Override
    public Pointer init(Pointer conn) {
        initialized.countDown();
        return null;
    }

    private Caller caller() {
        FuseContext c = getContext();
        return new Caller(c.uid.intValue(), c.gid.intValue());
    }

    // ---- attributes ----

    @Override
    public int getattr(String path, FileStat stat) {
        return FuseCall.run("getattr", path, () -> {
            Stat hiddenFile = HiddenFiles.isHiddenName(path) ? hidden.stat(path) : null;
            if (hiddenFile != null) {
                fill(stat, hiddenFile);
                stat.st_nlink.set(HiddenFiles.forLibfuse(hiddenFile.nlink()));
            } else {
                fill(stat, overlay.getattr(b(path)));
            }
            return 0;
        });
    }

    /** fstat of an open file: from its descriptor, so an unlinked open file still answers. */
    @Override
    public int fgetattr(String path, FileStat stat, FuseFileInfo fi) {
        return FuseCall.run("fgetattr", path, () -> {
            OpenFile f = file(fi);
            Stat st = overlay.fstat(f);
            fill(stat, st);
            if (hidden.isHidden(f, st)) {
                stat.st_nlink.set(HiddenFiles.forLibfuse(st.nlink()));
            }
            return 0;
        });
    }

    static void fill(FileStat s, Stat st) {
        s.st_mode.set(st.mode());
        s.st_ino.set(st.ino());
        s.st_nlink.set(st.nlink());
        s.st_uid.set(st.uid());
        s.st_gid.set(st.gid());
        s.st_rdev.set(st.rdev());
        s.st_size.set(st.size());
        s.st_blksize.set(st.blksize());
        s.st_blocks.set(st.blocks());
        s.st_atim.tv_sec.set(st.atime().sec());
        s.st_atim.tv_nsec.set(st.atime().nsec());
        s.st_mtim.tv_sec.set(st.mtime().sec());
        s.st_mtim.tv_nsec.set(st.mtime().nsec());
        s.st_ctim.tv_sec.set(st.ctime().sec());
        s.st_ctim.tv_nsec.set(st.ctime().nsec());
    }

    @Override
    public int chmod(String path, long mode) {
        return FuseCall.run("chmod", path, () -> {
            overlay.chmod(b(path), (int) mode);
            return 0;
        });
    }

    @Override
    public int chown(String path, long uid, long gid) {
        return FuseCall.run("chown", path, () -> {
            overlay.chown(b(path), (int) uid, (int) gid);
            return 0;
        });
    }

    @Override
    public int utimens(String path, Timespec[] timespec) {
        return FuseCall.run("utimens", path, () -> {
            overlay.utimens(b(path), time(timespec[0]), time(timespec[1]));
            return 0;
        });
    }

    private static dev.layerfs.core.nativeio.Timespec time(Timespec t) {
        return new dev.layerfs.core.nativeio.Timespec(t.tv_sec.get(), t.tv_nsec.longValue());
    }

    @Override
    public int truncate(String path, long size) {
        return FuseCall.run("truncate", path, () -> {
            overlay.truncate(b(path), size);
            return 0;
        });
    }

    @Override
    public int ftruncate(String path, long size, FuseFileInfo fi) {
        return FuseCall.run("ftruncate", path, () -> {
            overlay.ftruncate(file(fi), size);
            return 0;
        });
    }

    @Override
    public int access(String path, int mask) {
        return FuseCall.run("access", path, () -> {
            overlay.access(b(path), mask, caller());
            return 0;
        });
    }

    @Override
    public int statfs(String path, Statvfs stbuf) {
        return FuseCall.run("statfs", path, () -> {
            StatFs fs = overlay.statfs();
            stbuf.f_bsize.set(fs.bsize());
            stbuf.f_frsize.set(fs.frsize());
            stbuf.f_blocks.set(fs.blocks());
            stbuf.f_bfree.set(fs.bfree());
            stbuf.f_bavail.set(fs.bavail());
            stbuf.f_files.set(fs.files());
            stbuf.f_ffree.set(fs.ffree());
            stbuf.f_favail.set(fs.favail());
            stbuf.f_fsid.set(fs.fsid());
            stbuf.f_flag.set(fs.flag());
            stbuf.f_namemax.set(fs.namemax());
            return 0;
        });
    }

    // ---- extended attributes ----

    @Override
    public int getxattr(String path, String name, Pointer value, long size) {
        return FuseCall.run("getxattr", path, () -> {
            byte[] v = overlay.getxattr(b(path), b(name));
            return copyOut(v, value, size);
        });
    }

    @Override
    public int listxattr(String path, Pointer list, long size) {
        return FuseCall.run("listxattr", path, () -> {
            StringBuilder names = new StringBuilder();
            for (ByteString n : overlay.listxattr(b(path))) {
                names.append(n.latin1()).append('\0');
            }
            return copyOut(ByteString.trusted(names.toString()).bytes(), list, size);
        });
    }

    /** The xattr protocol: size 0 asks for the length; a buffer too small is ERANGE. */
    private static int copyOut(byte[] v, Pointer buf, long size) throws FsException {
        if (size == 0) {
            return v.length;
        }
        if (size < v.length) {
            throw FsException.of(Errno.ERANGE, "xattr", "buffer of " + size);
        }
        buf.put(0, v, 0, v.length);
        return v.length;
    }

    @Override
    public int setxattr(String path, String name, Pointer value, long size, int flags) {
        return FuseCall.run("setxattr", path, () -> {
            byte[] v = new byte[(int) size];
            value.get(0, v, 0, v.length);
            overlay.setxattr(b(path), b(name), v, flags);
            return 0;
        });
    }

    @Override
    public int removexattr(String path, String name) {
        return FuseCall.run("removexattr", path, () -> {
            overlay.removexattr(b(path), b(name));
            return 0;
        });
    }

    // ---- namespace ----

    @Override
    public int readlink(String path, Pointer buf, long size) {
        return FuseCall.run("readlink", path, () -> {
            byte[] target = overlay.readlink(b(path)).bytes();
            int n = (int) Math.min(target.length, size - 1);
            buf.put(0, target, 0, n);
            buf.putByte(n, (byte) 0);
            return 0;
        });
    }

    @Override
    public int mknod(String path, long mode, long rdev) {
        return FuseCall.run("mknod", path, () -> {
            overlay.mknod(b(path), (int) mode, rdev, caller());
            return 0;
        });
    }

    @Override
    public int mkdir(String path, long mode) {
        return FuseCall.run("mkdir", path, () -> {
            overlay.mkdir(b(path), (int) mode, caller());
            return 0;
        });
    }

    @Override
    public int unlink(String path) {
        return FuseCall.run("unlink", path, () -> {
            if (!HiddenFiles.isHiddenName(path) || !hidden.forget(path)) {
                overlay.unlink(b(path));
            }
            return 0;
        });
    }

    @Override
    public int rmdir(String path) {
        return FuseCall.run("rmdir", path, () -> {
            overlay.rmdir(b(path));
            return 0;
        });
    }

    @Override
    public int symlink(String target, String path) {
        return FuseCall.run("symlink", path, () -> {
            overlay.symlink(b(target), b(path), caller());
            return 0;
        });
    }

    @Override
    public int rename(String from, String to) {
        return FuseCall.run("rename", from, () -> {
            if (HiddenFiles.isHiddenName(to) && !HiddenFiles.isHiddenName(from)) {
                hidden.hide(from, to);
            } else {
                overlay.rename(b(from), b(to), 0);
            }
            return 0;
        });
    }

    @Override
    public int link(String from, String to) {
        return FuseCall.run("link", from, () -> {
            overlay.link(b(from), b(to));
            return 0;
        });
    }

    // ---- files ----

    @Override
    public int create(String path, long mode, FuseFileInfo fi) {
        return FuseCall.run("create", path, () -> {
            OpenFile f = overlay.open(b(path), fi.flags.get() | Linux.O_CREAT, (int) mode, caller());
            fi.fh.set(files.add(f));
            return 0;
        });
    }

    @Override
    public int open(String path, FuseFileInfo fi) {
        return FuseCall.run("open", path, () -> {
            OpenFile f = overlay.open(b(path), fi.flags.get() & ~Linux.O_CREAT, 0, caller());
            fi.fh.set(files.add(f));
            return 0;
        });
    }

    @Override
    public int read(String path, Pointer buf, long size, long offset, FuseFileInfo fi) {
        return FuseCall.run("read", path, () -> {
            // The engine reads until the buffer is full or the file ends.
            return overlay.read(file(fi), buffer(buf, 0, (int) size), offset);
        });
    }

    @Override
    public int write(String path, Pointer buf, long size, long offset, FuseFileInfo fi) {
        return FuseCall.run("write", path, () -> {
            // The engine writes all of it (or fails).
            return overlay.write(file(fi), buffer(buf, 0, (int) size), offset);
        });
    }

    @Override
    public int fallocate(String path, int mode, long off, long length, FuseFileInfo fi) {
        return FuseCall.run("fallocate", path, () -> {
            overlay.fallocate(file(fi), mode, off, length);
            return 0;
        });
    }

    @Override
    public int flush(String path, FuseFileInfo fi) {
        return 0;
    }

    @Override
    public int fsync(String path, int isdatasync, FuseFileInfo fi) {
        return FuseCall.run("fsync", path, () -> {
            overlay.fsync(file(fi), isdatasync != 0);
            return 0;
        });
    }

    @Override
    public int release(String path, FuseFileInfo fi) {
        return FuseCall.run("release", path, () -> {
            OpenFile f = files.remove(fi.fh.get());
            if (f != null) {
                overlay.release(f);
            }
            return 0;
        });
    }

    /** A path or name from jnr-fuse, whose chars are its bytes (see the class comment). */
    private static ByteString b(String latin1) {
        return ByteString.trusted(latin1);
    }

    /** {@code length} bytes of FUSE's native buffer from {@code offset}, as a direct buffer (no copy). */
    private static ByteBuffer buffer(Pointer p, int offset, int length) {
        return MemoryIO.getInstance().newDirectByteBuffer(p.address() + offset, length);
    }

    private OpenFile file(FuseFileInfo fi) throws FsException {
        OpenFile f = files.get(fi.fh.get());
        if (f == null) {
            throw FsException.of(Errno.EBADF, "file handle", Long.toString(fi.fh.get()));
        }
        return f;
    }

    // ---- directories ----

    @Override
    public int opendir(String path, FuseFileInfo fi) {
        return FuseCall.run("opendir", path, () -> {
            fi.fh.set(directories.add(overlay.readdir(b(path))));
            return 0;
        });
    }

    @Override
    public int readdir(String path, Pointer buf, FuseFillDir filler, long offset, FuseFileInfo fi) {
        return FuseCall.run("readdir", path, () -> {
            List<DirEntry> entries = directories.get(fi.fh.get());
            if (entries == null) {
                throw FsException.of(Errno.EBADF, "directory handle", Long.toString(fi.fh.get()));
            }
            filler.apply(buf, ".", null, 0);
            filler.apply(buf, "..", null, 0);
            FileStat st = new FileStat(Runtime.getSystemRuntime());
            for (DirEntry e : entries) {
                st.st_ino.set(e.ino());
                st.st_mode.set(e.type());
                if (filler.apply(buf, e.latin1Name(), st, 0) != 0) {
                    break;
                }
            }
            return 0;
        });
    }

    @Override
    public int releasedir(String path, FuseFileInfo fi) {
        directories.remove(fi.fh.get());
        return 0;
    }

    @Override
    public int fsyncdir(String path, FuseFileInfo fi) {
        return 0;
    }
}
