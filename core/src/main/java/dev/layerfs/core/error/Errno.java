package dev.layerfs.core.error;

/**
 * The Linux errno values the engine produces or understands. The FUSE edge negates {@link #code()}; nothing
 * else in layerfs writes a raw errno number.
 */
public enum Errno {
    EPERM(1), ENOENT(2), EINTR(4), EIO(5), ENXIO(6), E2BIG(7), EBADF(9), EAGAIN(11), ENOMEM(12), EACCES(13), EFAULT(14),
    EBUSY(16), EEXIST(17), EXDEV(18), ENODEV(19), ENOTDIR(20), EISDIR(21), EINVAL(22), ENFILE(23), EMFILE(24),
    ETXTBSY(26), EFBIG(27), ENOSPC(28), ESPIPE(29), EROFS(30), EMLINK(31), EPIPE(32), ERANGE(34), ENAMETOOLONG(36),
    ENOSYS(38), ENOTEMPTY(39), ELOOP(40), ENODATA(61), EPROTO(71), EOVERFLOW(75), EOPNOTSUPP(95), ENOTCONN(107),
    ESTALE(116), EDQUOT(122);

    private static final Errno[] BY_CODE = new Errno[256];

    static {
        for (Errno e : values()) {
            BY_CODE[e.code] = e;
        }
    }

    private final int code;

    Errno(int code) {
        this.code = code;
    }

    /** The positive Linux errno number. */
    public int code() {
        return code;
    }

    /** The errno for a number returned by the kernel; unknown numbers become {@link #EIO}. */
    public static Errno of(int code) {
        Errno e = code > 0 && code < BY_CODE.length ? BY_CODE[code] : null;
        return e == null ? EIO : e;
    }
}
