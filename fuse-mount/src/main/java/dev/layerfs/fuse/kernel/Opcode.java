package dev.layerfs.fuse.kernel;

import static dev.layerfs.fuse.kernel.FuseAbi.*;

/**
 * Every opcode this transport knows, one row each: its number, the fixed struct that starts its body, how many
 * NUL-terminated names follow that struct, and whether the kernel waits for a reply. {@link Request#parse} checks
 * a request against its row, so a handler never reads past what the kernel sent. Opcodes not listed are
 * answered ENOSYS.
 */
enum Opcode {
    LOOKUP(1, 0, 1),
    FORGET(2, ForgetIn.SIZE, 0, false),
    GETATTR(3, GetattrIn.SIZE, 0),
    SETATTR(4, SetattrIn.SIZE, 0),
    READLINK(5, 0, 0),
    /** The link's name, then its target. */
    SYMLINK(6, 0, 2),
    MKNOD(8, MknodIn.SIZE, 1),
    MKDIR(9, MkdirIn.SIZE, 1),
    UNLINK(10, 0, 1),
    RMDIR(11, 0, 1),
    RENAME(12, RenameIn.SIZE, 2),
    LINK(13, LinkIn.SIZE, 1),
    OPEN(14, OpenIn.SIZE, 0),
    READ(15, ReadIn.SIZE, 0),
    /** The data follows the struct; its length is checked against fuse_write_in.size. */
    WRITE(16, WriteIn.SIZE, 0),
    STATFS(17, 0, 0),
    RELEASE(18, ReleaseIn.SIZE, 0),
    FSYNC(20, FsyncIn.SIZE, 0),
    /** The name, then a value of fuse_setxattr_in.size bytes (checked too). */
    SETXATTR(21, SetxattrIn.SIZE, 1),
    GETXATTR(22, GetxattrIn.SIZE, 1),
    LISTXATTR(23, GetxattrIn.SIZE, 0),
    REMOVEXATTR(24, 0, 1),
    FLUSH(25, FlushIn.SIZE, 0),
    INIT(26, InitIn.COMPAT_SIZE, 0),
    OPENDIR(27, OpenIn.SIZE, 0),
    READDIR(28, ReadIn.SIZE, 0),
    RELEASEDIR(29, ReleaseIn.SIZE, 0),
    FSYNCDIR(30, FsyncIn.SIZE, 0),
    ACCESS(34, AccessIn.SIZE, 0),
    CREATE(35, CreateIn.SIZE, 1),
    INTERRUPT(36, InterruptIn.SIZE, 0, false),
    DESTROY(38, 0, 0),
    BATCH_FORGET(42, BatchForgetIn.SIZE, 0, false),
    FALLOCATE(43, FallocateIn.SIZE, 0),
    READDIRPLUS(44, ReadIn.SIZE, 0),
    RENAME2(45, Rename2In.SIZE, 2),
    LSEEK(46, LseekIn.SIZE, 0),
    COPY_FILE_RANGE(47, CopyFileRangeIn.SIZE, 0);

    private static final Opcode[] BY_CODE = new Opcode[64];

    static {
        for (Opcode o : values()) {
            BY_CODE[o.code] = o;
        }
    }

    final int code;
    /** The size of the fixed struct at the start of the body. */
    final int inSize;
    /** NUL-terminated names after the fixed struct. */
    final int names;
    /** False for FORGET, BATCH_FORGET and INTERRUPT: the kernel takes no reply. */
    final boolean replies;

    Opcode(int code, int inSize, int names) {
        this(code, inSize, names, true);
    }

    Opcode(int code, int inSize, int names, boolean replies) {
        this.code = code;
        this.inSize = inSize;
        this.names = names;
        this.replies = replies;
    }

    /** The opcode of a number, or null for one this transport does not know. */
    static Opcode of(int code) {
        return code >= 0 && code < BY_CODE.length ? BY_CODE[code] : null;
    }
}
