package dev.layerfs.core.nativeio;

import jnr.ffi.Platform;

/** Linux constants, with the few that differ between x86_64 and aarch64 chosen at start-up. */
public final class Linux {
    private Linux() {}

    private static final boolean AARCH64 = Platform.getNativePlatform().getCPU() == Platform.CPU.AARCH64;

    public static final int O_ACCMODE = 3;
    public static final int O_RDONLY = 0;
    public static final int O_WRONLY = 1;
    public static final int O_RDWR = 2;
    public static final int O_CREAT = 0100;
    public static final int O_EXCL = 0200;
    public static final int O_NOCTTY = 0400;
    public static final int O_TRUNC = 01000;
    public static final int O_APPEND = 02000;
    public static final int O_NONBLOCK = 04000;
    public static final int O_DIRECTORY = AARCH64 ? 040000 : 0200000;
    public static final int O_NOFOLLOW = AARCH64 ? 0100000 : 0400000;
    public static final int O_DIRECT = AARCH64 ? 0200000 : 040000;
    public static final int O_LARGEFILE = AARCH64 ? 0400000 : 0100000;
    public static final int O_NOATIME = 01000000;
    public static final int O_CLOEXEC = 02000000;
    public static final int O_PATH = 010000000;
    public static final int O_DSYNC = 010000;
    public static final int O_SYNC = 04010000;

    public static final int AT_FDCWD = -100;
    public static final int AT_SYMLINK_NOFOLLOW = 0x100;
    public static final int AT_REMOVEDIR = 0x200;
    public static final int AT_SYMLINK_FOLLOW = 0x400;
    public static final int AT_EMPTY_PATH = 0x1000;
    /** faccessat: check with the effective ids (the same bit as AT_REMOVEDIR, for another call). */
    public static final int AT_EACCESS = 0x200;

    public static final int RENAME_NOREPLACE = 1;
    public static final int RENAME_EXCHANGE = 2;
    public static final int RENAME_WHITEOUT = 4;

    public static final int XATTR_CREATE = 1;
    public static final int XATTR_REPLACE = 2;

    public static final int SEEK_SET = 0;
    public static final int SEEK_DATA = 3;
    public static final int SEEK_HOLE = 4;

    public static final long FICLONE = 0x40049409L;
    /** _IOR(0x15, 0, struct fsuuid2): a filesystem's UUID, its length in the first byte. */
    public static final long FS_IOC_GETFSUUID = 0x80111500L;

    public static final long UTIME_NOW = (1L << 30) - 1;
    public static final long UTIME_OMIT = (1L << 30) - 2;

    public static final int S_IFMT = 0170000;
    public static final int S_IFSOCK = 0140000;
    public static final int S_IFLNK = 0120000;
    public static final int S_IFREG = 0100000;
    public static final int S_IFBLK = 060000;
    public static final int S_IFDIR = 040000;
    public static final int S_IFCHR = 020000;
    public static final int S_IFIFO = 010000;
    public static final int S_ISUID = 04000;
    public static final int S_ISGID = 02000;
    public static final int PERMISSION_BITS = 07777;

    public static final int R_OK = 4;
    public static final int W_OK = 2;
    public static final int X_OK = 1;

    public static final byte DT_UNKNOWN = 0;
    public static final byte DT_FIFO = 1;
    public static final byte DT_CHR = 2;
    public static final byte DT_DIR = 4;
    public static final byte DT_BLK = 6;
    public static final byte DT_REG = 8;
    public static final byte DT_LNK = 10;
    public static final byte DT_SOCK = 12;

    public static boolean isAarch64() {
        return AARCH64;
    }

    /** The file type bits of a mode for a dirent type, or 0 when the type is unknown. */
    public static int modeOfDirentType(int dtype) {
        return dtype == DT_UNKNOWN ? 0 : dtype << 12;
    }

    /** The dirent type for a mode. */
    public static byte direntTypeOf(int mode) {
        return (byte) ((mode & S_IFMT) >>> 12);
    }

    /** True where the open flags ask for writing or truncation. */
    public static boolean opensForWrite(int flags) {
        return (flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC) != 0;
    }
}
