package dev.layerfs.snapshotter.store;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import jnr.ffi.LibraryLoader;
import jnr.ffi.Memory;
import jnr.ffi.Pointer;
import jnr.ffi.Runtime;
import jnr.ffi.annotations.In;

/**
 * The one native call of the snapshotter: statx(2), for what {@code java.nio.file} does not give, a file's
 * allocated blocks (usage is counted in blocks, as containerd counts it). statx's buffer has one layout on every
 * architecture, so the offsets below hold everywhere.
 */
final class NativeStat {
    /** What usage needs of one file. */
    record Blocks(long device, long inode, long blocks512) {}

    public interface LibC {
        int statx(int dirfd, @In byte[] path, int flags, int mask, Pointer statxbuf);
    }

    private static final int AT_FDCWD = -100;
    private static final int AT_SYMLINK_NOFOLLOW = 0x100;
    private static final int STATX_INO = 0x100;
    private static final int STATX_BLOCKS = 0x400;
    private static final int STATX_SIZE = 256;
    private static final int OFFSET_INO = 32;
    private static final int OFFSET_BLOCKS = 48;
    private static final int OFFSET_DEV_MAJOR = 136;
    private static final int OFFSET_DEV_MINOR = 140;

    private static final class Holder {
        static final LibC LIBC = LibraryLoader.create(LibC.class).load("c");
    }

    private NativeStat() {}

    /** The file itself (a symbolic link is not followed). */
    static Blocks of(byte[] path) throws IOException {
        byte[] name = new byte[path.length + 1];
        System.arraycopy(path, 0, name, 0, path.length);
        Pointer buf = Memory.allocateDirect(Runtime.getRuntime(Holder.LIBC), STATX_SIZE);
        if (Holder.LIBC.statx(AT_FDCWD, name, AT_SYMLINK_NOFOLLOW, STATX_INO | STATX_BLOCKS, buf) != 0) {
            int errno = Runtime.getRuntime(Holder.LIBC).getLastError();
            throw new IOException("statx " + new String(path, StandardCharsets.ISO_8859_1) + ": errno " + errno);
        }
        long device = ((long) buf.getInt(OFFSET_DEV_MAJOR) << 32) | (buf.getInt(OFFSET_DEV_MINOR) & 0xffffffffL);
        return new Blocks(device, buf.getLong(OFFSET_INO), buf.getLong(OFFSET_BLOCKS));
    }
}
