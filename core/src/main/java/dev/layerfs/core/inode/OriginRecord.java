package dev.layerfs.core.inode;

import dev.layerfs.core.nativeio.FileHandle;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * The kernel overlay's origin record ({@code overlay.origin}, the kernel's {@code struct ovl_fb}): where a
 * copied-up object came from, as a file handle of the lower filesystem. Layout: version (0), magic (0xfb), the
 * record's length, flags (the byte order of the machine that wrote it), the handle type, the filesystem's UUID
 * (16 bytes), then the handle's bytes.
 */
record OriginRecord(FileHandle handle, byte[] uuid) {
    private static final int VERSION = 0;
    private static final int MAGIC = 0xfb;
    private static final int HEADER = 21;
    private static final int FLAG_BIG_ENDIAN = 1;
    private static final int FLAG_ANY_ENDIAN = 1 << 1;
    private static final int FLAG_PATH_UPPER = 1 << 2;
    private static final int FLAGS_KNOWN = FLAG_BIG_ENDIAN | FLAG_ANY_ENDIAN | FLAG_PATH_UPPER;
    private static final int CPU_ENDIAN = ByteOrder.nativeOrder() == ByteOrder.BIG_ENDIAN ? FLAG_BIG_ENDIAN : 0;
    static final byte[] NULL_UUID = new byte[16];

    byte[] encode() {
        return encode(false);
    }

    /**
     * The record's bytes; {@code ofUpper} marks it as naming an object of the upper layer (the kernel's
     * OVL_FH_FLAG_PATH_UPPER, as in the index directory's {@code overlay.upper}).
     */
    byte[] encode(boolean ofUpper) {
        byte[] fid = handle.bytes();
        byte[] v = new byte[HEADER + fid.length];
        v[0] = VERSION;
        v[1] = (byte) MAGIC;
        v[2] = (byte) v.length;
        v[3] = (byte) (CPU_ENDIAN | (ofUpper ? FLAG_PATH_UPPER : 0));
        v[4] = (byte) handle.type();
        System.arraycopy(uuid, 0, v, 5, 16);
        System.arraycopy(fid, 0, v, HEADER, fid.length);
        return v;
    }

    /**
     * The record in an xattr value, or null where it is not one this machine can use (another version, another
     * byte order, a record of an upper object, a length that does not add up), as the kernel ignores them.
     */
    static OriginRecord decode(byte[] v) {
        if (v == null || v.length < HEADER || v[0] != VERSION || (v[1] & 0xff) != MAGIC || (v[2] & 0xff) != v.length) {
            return null;
        }
        int flags = v[3] & 0xff;
        if ((flags & ~FLAGS_KNOWN) != 0 || (flags & FLAG_PATH_UPPER) != 0) {
            return null;
        }
        if ((flags & FLAG_ANY_ENDIAN) == 0 && (flags & FLAG_BIG_ENDIAN) != CPU_ENDIAN) {
            return null;
        }
        return new OriginRecord(new FileHandle(v[4] & 0xff, Arrays.copyOfRange(v, HEADER, v.length)),
                Arrays.copyOfRange(v, 5, HEADER));
    }
}
