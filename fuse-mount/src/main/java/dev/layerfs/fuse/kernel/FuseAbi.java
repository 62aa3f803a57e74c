package dev.layerfs.fuse.kernel;

import dev.layerfs.core.error.Errno;

/**
 * The kernel's FUSE ABI ({@code include/uapi/linux/fuse.h}), once: every struct this transport reads or writes,
 * as named byte offsets and sizes, and the flag bits it uses. All integers are little-endian (the host's order on
 * the two ABIs layerfs runs on); {@link Request} and {@link ReplyWriter} are the only readers of these offsets.
 */
final class FuseAbi {
    private FuseAbi() {}

    static final int KERNEL_VERSION = 7;
    /** The newest protocol minor whose structs this file describes; the INIT reply never says more. */
    static final int MAX_MINOR = 40;
    /** The oldest minor this transport speaks: fuse_init_out reached 64 bytes in 7.23. */
    static final int MIN_MINOR = 23;
    static final long ROOT_ID = 1;
    /** The kernel refuses to read requests into a smaller buffer. */
    static final int MIN_READ_BUFFER = 8192;
    /** _IOR(229, 0, uint32_t): attaches a newly opened /dev/fuse descriptor to an existing connection. */
    static final long DEV_IOC_CLONE = 0x8004E500L;
    /** _IOW(229, 1, struct fuse_backing_map): registers a file as a backing for passthrough; returns its id. */
    static final long DEV_IOC_BACKING_OPEN = 0x4010E501L;
    /** _IOW(229, 2, uint32_t): drops a backing id. */
    static final long DEV_IOC_BACKING_CLOSE = 0x4004E502L;
    /** The deepest stack of filesystems the kernel allows (FILESYSTEM_MAX_STACK_DEPTH). */
    static final int MAX_STACK_DEPTH = 2;
    /** The errno a malformed request is answered with. */
    static final int EIO = Errno.EIO.code();

    /** struct fuse_in_header. */
    static final class InHeader {
        static final int LEN = 0, OPCODE = 4, UNIQUE = 8, NODEID = 16, UID = 24, GID = 28, PID = 32,
                TOTAL_EXTLEN = 36, SIZE = 40;

        private InHeader() {}
    }

    /** struct fuse_out_header. */
    static final class OutHeader {
        static final int LEN = 0, ERROR = 4, UNIQUE = 8, SIZE = 16;

        private OutHeader() {}
    }

    /** struct fuse_attr. */
    static final class Attr {
        static final int INO = 0, SIZE_ = 8, BLOCKS = 16, ATIME = 24, MTIME = 32, CTIME = 40, ATIMENSEC = 48,
                MTIMENSEC = 52, CTIMENSEC = 56, MODE = 60, NLINK = 64, UID = 68, GID = 72, RDEV = 76, BLKSIZE = 80,
                FLAGS = 84, SIZE = 88;

        private Attr() {}
    }

    /** struct fuse_entry_out. */
    static final class EntryOut {
        static final int NODEID = 0, GENERATION = 8, ENTRY_VALID = 16, ATTR_VALID = 24, ENTRY_VALID_NSEC = 32,
                ATTR_VALID_NSEC = 36, ATTR = 40, SIZE = 40 + Attr.SIZE;

        private EntryOut() {}
    }

    /** struct fuse_attr_out. */
    static final class AttrOut {
        static final int ATTR_VALID = 0, ATTR_VALID_NSEC = 8, DUMMY = 12, ATTR = 16, SIZE = 16 + Attr.SIZE;

        private AttrOut() {}
    }

    /** struct fuse_getattr_in. */
    static final class GetattrIn {
        static final int GETATTR_FLAGS = 0, DUMMY = 4, FH = 8, SIZE = 16;

        private GetattrIn() {}
    }

    /** struct fuse_setattr_in. */
    static final class SetattrIn {
        static final int VALID = 0, PADDING = 4, FH = 8, SIZE_ = 16, LOCK_OWNER = 24, ATIME = 32, MTIME = 40,
                CTIME = 48, ATIMENSEC = 56, MTIMENSEC = 60, CTIMENSEC = 64, MODE = 68, UNUSED4 = 72, UID = 76,
                GID = 80, UNUSED5 = 84, SIZE = 88;

        private SetattrIn() {}
    }

    /** struct fuse_forget_in. */
    static final class ForgetIn {
        static final int NLOOKUP = 0, SIZE = 8;

        private ForgetIn() {}
    }

    /** struct fuse_batch_forget_in, followed by {@code count} struct fuse_forget_one. */
    static final class BatchForgetIn {
        static final int COUNT = 0, DUMMY = 4, SIZE = 8;

        private BatchForgetIn() {}
    }

    /** struct fuse_forget_one. */
    static final class ForgetOne {
        static final int NODEID = 0, NLOOKUP = 8, SIZE = 16;

        private ForgetOne() {}
    }

    /** struct fuse_mknod_in, then the name. */
    static final class MknodIn {
        static final int MODE = 0, RDEV = 4, UMASK = 8, PADDING = 12, SIZE = 16;

        private MknodIn() {}
    }

    /** struct fuse_mkdir_in, then the name. */
    static final class MkdirIn {
        static final int MODE = 0, UMASK = 4, SIZE = 8;

        private MkdirIn() {}
    }

    /** struct fuse_rename_in, then the old and the new name. */
    static final class RenameIn {
        static final int NEWDIR = 0, SIZE = 8;

        private RenameIn() {}
    }

    /** struct fuse_rename2_in, then the old and the new name. */
    static final class Rename2In {
        static final int NEWDIR = 0, FLAGS = 8, PADDING = 12, SIZE = 16;

        private Rename2In() {}
    }

    /** struct fuse_link_in, then the new name. */
    static final class LinkIn {
        static final int OLDNODEID = 0, SIZE = 8;

        private LinkIn() {}
    }

    /** struct fuse_open_in (OPEN and OPENDIR). */
    static final class OpenIn {
        static final int FLAGS = 0, OPEN_FLAGS = 4, SIZE = 8;

        private OpenIn() {}
    }

    /** struct fuse_create_in, then the name. */
    static final class CreateIn {
        static final int FLAGS = 0, MODE = 4, UMASK = 8, OPEN_FLAGS = 12, SIZE = 16;

        private CreateIn() {}
    }

    /** struct fuse_open_out. */
    static final class OpenOut {
        static final int FH = 0, OPEN_FLAGS = 8, BACKING_ID = 12, SIZE = 16;

        private OpenOut() {}
    }

    /** struct fuse_release_in (RELEASE and RELEASEDIR). */
    static final class ReleaseIn {
        static final int FH = 0, FLAGS = 8, RELEASE_FLAGS = 12, LOCK_OWNER = 16, SIZE = 24;

        private ReleaseIn() {}
    }

    /** struct fuse_flush_in. */
    static final class FlushIn {
        static final int FH = 0, UNUSED = 8, PADDING = 12, LOCK_OWNER = 16, SIZE = 24;

        private FlushIn() {}
    }

    /** struct fuse_read_in (READ, READDIR, READDIRPLUS). */
    static final class ReadIn {
        static final int FH = 0, OFFSET = 8, SIZE_ = 16, READ_FLAGS = 20, LOCK_OWNER = 24, FLAGS = 32,
                PADDING = 36, SIZE = 40;

        private ReadIn() {}
    }

    /** struct fuse_write_in, then the data. */
    static final class WriteIn {
        static final int FH = 0, OFFSET = 8, SIZE_ = 16, WRITE_FLAGS = 20, LOCK_OWNER = 24, FLAGS = 32,
                PADDING = 36, SIZE = 40;

        private WriteIn() {}
    }

    /** struct fuse_write_out. */
    static final class WriteOut {
        static final int SIZE_ = 0, PADDING = 4, SIZE = 8;

        private WriteOut() {}
    }

    /** struct fuse_statfs_out: one struct fuse_kstatfs. */
    static final class StatfsOut {
        static final int BLOCKS = 0, BFREE = 8, BAVAIL = 16, FILES = 24, FFREE = 32, BSIZE = 40, NAMELEN = 44,
                FRSIZE = 48, PADDING = 52, SPARE = 56, SIZE = 80;

        private StatfsOut() {}
    }

    /** struct fuse_fsync_in (FSYNC and FSYNCDIR). */
    static final class FsyncIn {
        static final int FH = 0, FSYNC_FLAGS = 8, PADDING = 12, SIZE = 16;

        private FsyncIn() {}
    }

    /** The 8-byte struct fuse_setxattr_in used without FUSE_SETXATTR_EXT, then the name and the value. */
    static final class SetxattrIn {
        static final int SIZE_ = 0, FLAGS = 4, SIZE = 8;

        private SetxattrIn() {}
    }

    /** struct fuse_getxattr_in (GETXATTR, then the name; LISTXATTR). */
    static final class GetxattrIn {
        static final int SIZE_ = 0, PADDING = 4, SIZE = 8;

        private GetxattrIn() {}
    }

    /** struct fuse_getxattr_out: the size a value or list needs. */
    static final class GetxattrOut {
        static final int SIZE_ = 0, PADDING = 4, SIZE = 8;

        private GetxattrOut() {}
    }

    /** struct fuse_access_in. */
    static final class AccessIn {
        static final int MASK = 0, PADDING = 4, SIZE = 8;

        private AccessIn() {}
    }

    /** struct fuse_init_in; the kernel sends 16 bytes before 7.36, then 64. */
    static final class InitIn {
        static final int MAJOR = 0, MINOR = 4, MAX_READAHEAD = 8, FLAGS = 12, FLAGS2 = 16, SIZE = 64,
                COMPAT_SIZE = 16;

        private InitIn() {}
    }

    /** struct fuse_init_out (64 bytes since 7.23; flags2 since 7.36, max_stack_depth since 7.40). */
    static final class InitOut {
        static final int MAJOR = 0, MINOR = 4, MAX_READAHEAD = 8, FLAGS = 12, MAX_BACKGROUND = 16,
                CONGESTION_THRESHOLD = 18, MAX_WRITE = 20, TIME_GRAN = 24, MAX_PAGES = 28, MAP_ALIGNMENT = 30,
                FLAGS2 = 32, MAX_STACK_DEPTH = 36, SIZE = 64;

        private InitOut() {}
    }

    /** struct fuse_interrupt_in. */
    static final class InterruptIn {
        static final int UNIQUE = 0, SIZE = 8;

        private InterruptIn() {}
    }

    /** struct fuse_fallocate_in. */
    static final class FallocateIn {
        static final int FH = 0, OFFSET = 8, LENGTH = 16, MODE = 24, PADDING = 28, SIZE = 32;

        private FallocateIn() {}
    }

    /** struct fuse_lseek_in. */
    static final class LseekIn {
        static final int FH = 0, OFFSET = 8, WHENCE = 16, PADDING = 20, SIZE = 24;

        private LseekIn() {}
    }

    /** struct fuse_copy_file_range_in. */
    static final class CopyFileRangeIn {
        static final int FH_IN = 0, OFF_IN = 8, NODEID_OUT = 16, FH_OUT = 24, OFF_OUT = 32, LEN = 40, FLAGS = 48,
                SIZE = 56;

        private CopyFileRangeIn() {}
    }

    /** struct fuse_backing_map, the argument of {@link #DEV_IOC_BACKING_OPEN}. */
    static final class BackingMap {
        static final int FD = 0, FLAGS = 4, PADDING = 8, SIZE = 16;

        private BackingMap() {}
    }

    /** struct fuse_dirent: a header, the name, zero padding to 8 bytes. */
    static final class Dirent {
        static final int INO = 0, OFF = 8, NAMELEN = 16, TYPE = 20, NAME = 24;

        private Dirent() {}

        /** The bytes one entry takes, padding included. */
        static int size(int nameLength) {
            return align8(NAME + nameLength);
        }
    }

    /** struct fuse_direntplus: an entry_out, then a fuse_dirent. */
    static final class Direntplus {
        static final int ENTRY_OUT = 0, DIRENT = EntryOut.SIZE;

        private Direntplus() {}

        static int size(int nameLength) {
            return align8(DIRENT + Dirent.NAME + nameLength);
        }
    }

    /**
     * A notification the daemon writes unasked: an out header with unique 0 and the notify code in its error
     * field, then the code's struct.
     */
    static final class Notify {
        /** FUSE_NOTIFY_INVAL_INODE: drop a node's cached attributes and, from an offset, its pages. */
        static final int INVAL_INODE = 2;

        private Notify() {}
    }

    /** struct fuse_notify_inval_inode_out: off 0 and len 0 drop every page; a negative off the attributes only. */
    static final class NotifyInvalInodeOut {
        static final int INO = 0, OFF = 8, LEN = 16, SIZE = 24;

        private NotifyInvalInodeOut() {}
    }

    /** Where a WRITE request's data starts: after the header and fuse_write_in. */
    static final int WRITE_DATA_OFFSET = InHeader.SIZE + WriteIn.SIZE;
    /** Where a READ reply's data starts: after the out header. */
    static final int READ_DATA_OFFSET = OutHeader.SIZE;

    static int align8(int n) {
        return (n + 7) & ~7;
    }

    /** INIT flags (fuse_init_in.flags / fuse_init_out.flags). */
    static final class InitFlags {
        static final int ASYNC_READ = 1 << 0;
        static final int POSIX_LOCKS = 1 << 1;
        static final int ATOMIC_O_TRUNC = 1 << 3;
        static final int EXPORT_SUPPORT = 1 << 4;
        static final int BIG_WRITES = 1 << 5;
        static final int DONT_MASK = 1 << 6;
        static final int AUTO_INVAL_DATA = 1 << 12;
        static final int DO_READDIRPLUS = 1 << 13;
        static final int READDIRPLUS_AUTO = 1 << 14;
        static final int WRITEBACK_CACHE = 1 << 16;
        static final int PARALLEL_DIROPS = 1 << 18;
        static final int HANDLE_KILLPRIV = 1 << 19;
        /** The daemon kills suid, sgid and security.capability at a write, a truncate and a chown. */
        static final int HANDLE_KILLPRIV_V2 = 1 << 28;
        static final int POSIX_ACL = 1 << 20;
        static final int MAX_PAGES = 1 << 22;
        static final int CACHE_SYMLINKS = 1 << 23;
        static final int SETXATTR_EXT = 1 << 29;
        static final int INIT_EXT = 1 << 30;

        private InitFlags() {}
    }

    /** INIT flags of the second word (fuse_init_in.flags2 / fuse_init_out.flags2, read only with INIT_EXT). */
    static final class InitFlags2 {
        /** Flag 37: OPEN and CREATE may hand the kernel a backing file to read and write itself. */
        static final int PASSTHROUGH = 1 << 5;

        private InitFlags2() {}
    }

    /** The minor each INIT flag this transport asks for appeared in. */
    static final class FlagMinor {
        static final int AUTO_INVAL_DATA = 20;
        static final int DO_READDIRPLUS = 21;
        static final int READDIRPLUS_AUTO = 21;
        static final int PARALLEL_DIROPS = 25;
        static final int POSIX_ACL = 26;
        static final int MAX_PAGES = 28;
        static final int CACHE_DIR = 28;
        static final int CACHE_SYMLINKS = 28;
        static final int HANDLE_KILLPRIV_V2 = 33;
        static final int PASSTHROUGH = 40;

        private FlagMinor() {}
    }

    /** fuse_open_out.open_flags. */
    static final class OpenFlags {
        static final int DIRECT_IO = 1 << 0;
        static final int KEEP_CACHE = 1 << 1;
        static final int NONSEEKABLE = 1 << 2;
        static final int CACHE_DIR = 1 << 3;
        static final int PASSTHROUGH = 1 << 7;

        private OpenFlags() {}
    }

    /** fuse_setattr_in.valid. */
    static final class SetattrValid {
        static final int MODE = 1 << 0;
        static final int UID = 1 << 1;
        static final int GID = 1 << 2;
        static final int SIZE = 1 << 3;
        static final int ATIME = 1 << 4;
        static final int MTIME = 1 << 5;
        static final int FH = 1 << 6;
        static final int ATIME_NOW = 1 << 7;
        static final int MTIME_NOW = 1 << 8;
        static final int LOCKOWNER = 1 << 9;
        static final int CTIME = 1 << 10;
        static final int KILL_SUIDGID = 1 << 11;

        private SetattrValid() {}
    }

    /** fuse_write_in.write_flags: the writer lacks CAP_FSETID, so the write kills suid and sgid (KILLPRIV_V2). */
    static final int WRITE_KILL_SUIDGID = 1 << 2;
    /** fuse_open_in.open_flags, fuse_create_in.open_flags: as WRITE_KILL_SUIDGID, for an O_TRUNC open. */
    static final int OPEN_KILL_SUIDGID = 1 << 0;

    /** fuse_getattr_in.getattr_flags: fh is valid. */
    static final int GETATTR_FH = 1 << 0;
    /** fuse_fsync_in.fsync_flags: fdatasync. */
    static final int FSYNC_FDATASYNC = 1 << 0;

    /** renameat2's flags, as RENAME2 carries them. */
    static final class RenameFlags {
        static final int NOREPLACE = 1 << 0;
        static final int EXCHANGE = 1 << 1;
        static final int WHITEOUT = 1 << 2;

        private RenameFlags() {}
    }
}
