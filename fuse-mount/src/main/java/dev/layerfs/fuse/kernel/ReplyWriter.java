package dev.layerfs.fuse.kernel;

import dev.layerfs.core.nativeio.Stat;
import dev.layerfs.core.nativeio.StatFs;
import dev.layerfs.fuse.kernel.FuseAbi.Attr;
import dev.layerfs.fuse.kernel.FuseAbi.AttrOut;
import dev.layerfs.fuse.kernel.FuseAbi.Dirent;
import dev.layerfs.fuse.kernel.FuseAbi.Direntplus;
import dev.layerfs.fuse.kernel.FuseAbi.EntryOut;
import dev.layerfs.fuse.kernel.FuseAbi.GetxattrOut;
import dev.layerfs.fuse.kernel.FuseAbi.InitOut;
import dev.layerfs.fuse.kernel.FuseAbi.NotifyInvalInodeOut;
import dev.layerfs.fuse.kernel.FuseAbi.OpenOut;
import dev.layerfs.fuse.kernel.FuseAbi.OutHeader;
import dev.layerfs.fuse.kernel.FuseAbi.StatfsOut;
import dev.layerfs.fuse.kernel.FuseAbi.WriteOut;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Encodes replies into one reusable buffer (a worker's): each method writes the out header and the reply's
 * struct and returns the buffer flipped, ready for one write(2) on the descriptor the request came from.
 */
final class ReplyWriter {
    private final ByteBuffer out;

    /** How long the kernel may keep an entry or attributes: whole seconds and nanoseconds. */
    record Validity(long sec, int nsec) {
        static Validity ofSeconds(double seconds) {
            long sec = (long) Math.floor(seconds);
            return new Validity(sec, (int) Math.round((seconds - sec) * 1e9) % 1_000_000_000);
        }
    }

    /** What an entry reply says about a node. */
    record Entry(long nodeId, long generation, Stat stat) {}

    /** The values the INIT reply carries. */
    record InitReply(int major, int minor, int maxReadahead, int flags, int maxBackground, int congestionThreshold,
            int maxWrite, int timeGran, int maxPages, int flags2, int maxStackDepth) {}

    /**
     * A writer with its own direct buffer, placed so that a READ reply's data starts on a page boundary (a file
     * opened with O_DIRECT is then read straight into it).
     */
    ReplyWriter(int capacity) {
        this(pageAlignedAt(FuseAbi.READ_DATA_OFFSET, capacity));
    }

    /** The buffer replies are written into. */
    ByteBuffer memory() {
        return out;
    }

    /** A direct buffer of {@code capacity} bytes whose byte {@code offset} lies on a page boundary. */
    static ByteBuffer pageAlignedAt(int offset, int capacity) {
        int page = 4096;
        ByteBuffer aligned = ByteBuffer.allocateDirect(capacity + 3 * page).alignedSlice(page);
        return aligned.slice(page - offset, capacity).order(ByteOrder.LITTLE_ENDIAN);
    }

    ReplyWriter(ByteBuffer out) {
        this.out = out.order(ByteOrder.LITTLE_ENDIAN);
    }

    int capacity() {
        return out.capacity();
    }

    private ByteBuffer finish(long unique, int error, int length) {
        out.putInt(OutHeader.LEN, length);
        out.putInt(OutHeader.ERROR, error);
        out.putLong(OutHeader.UNIQUE, unique);
        // A view of the reply; the buffer itself keeps its full limit for the next one.
        ByteBuffer reply = out.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        reply.position(0).limit(length);
        return reply;
    }

    private void zero(int from, int to) {
        for (int i = from; i < to; i++) {
            out.put(i, (byte) 0);
        }
    }

    /** The errno a finished reply answers (0 for success). */
    static int errnoOf(ByteBuffer reply) {
        return -reply.getInt(OutHeader.ERROR);
    }

    /** The file handle a finished OPEN or OPENDIR reply hands the kernel. */
    static long openFhOf(ByteBuffer reply) {
        return reply.getLong(OutHeader.SIZE + OpenOut.FH);
    }

    /** The node id a finished entry reply (LOOKUP, MKNOD, ...) hands the kernel; 0 for a negative entry. */
    static long entryNodeIdOf(ByteBuffer reply) {
        return reply.getLong(OutHeader.SIZE + EntryOut.NODEID);
    }

    /**
     * The node ids a finished READDIRPLUS reply hands the kernel, one per entry that carries a node (".", ".." and
     * names that vanished carry node id 0 and are left out).
     */
    static long[] direntplusNodeIdsOf(ByteBuffer reply) {
        int end = reply.getInt(OutHeader.LEN);
        long[] ids = new long[(end - OutHeader.SIZE) / Direntplus.size(1)];
        int count = 0;
        for (int b = OutHeader.SIZE; b < end; ) {
            long id = reply.getLong(b + Direntplus.ENTRY_OUT + EntryOut.NODEID);
            if (id != 0) {
                ids[count++] = id;
            }
            b += Direntplus.size(reply.getInt(b + Direntplus.DIRENT + Dirent.NAMELEN));
        }
        return java.util.Arrays.copyOf(ids, count);
    }

    /** The file handle a finished CREATE reply hands the kernel (after its entry). */
    static long createFhOf(ByteBuffer reply) {
        return reply.getLong(OutHeader.SIZE + EntryOut.SIZE + OpenOut.FH);
    }

    /** FUSE_NOTIFY_INVAL_INODE for a node: its attributes and all its pages (unique 0, the code as error). */
    ByteBuffer invalInode(long nodeId) {
        int b = OutHeader.SIZE;
        out.putLong(b + NotifyInvalInodeOut.INO, nodeId);
        out.putLong(b + NotifyInvalInodeOut.OFF, 0);
        out.putLong(b + NotifyInvalInodeOut.LEN, 0);
        return finish(0, FuseAbi.Notify.INVAL_INODE, OutHeader.SIZE + NotifyInvalInodeOut.SIZE);
    }

    /** An error reply: the negated errno, no body. */
    ByteBuffer error(long unique, int errno) {
        return finish(unique, -errno, OutHeader.SIZE);
    }

    /** Success without a body. */
    ByteBuffer empty(long unique) {
        return finish(unique, 0, OutHeader.SIZE);
    }

    ByteBuffer entry(long unique, Entry e, Validity entry, Validity attr) {
        putEntry(OutHeader.SIZE, e, entry, attr);
        return finish(unique, 0, OutHeader.SIZE + EntryOut.SIZE);
    }

    /** A LOOKUP miss the kernel may cache for {@code entry}: node id 0. */
    ByteBuffer negativeEntry(long unique, Validity entry) {
        int b = OutHeader.SIZE;
        zero(b, b + EntryOut.SIZE);
        out.putLong(b + EntryOut.ENTRY_VALID, entry.sec());
        out.putInt(b + EntryOut.ENTRY_VALID_NSEC, entry.nsec());
        return finish(unique, 0, OutHeader.SIZE + EntryOut.SIZE);
    }

    private void putEntry(int b, Entry e, Validity entry, Validity attr) {
        out.putLong(b + EntryOut.NODEID, e.nodeId());
        out.putLong(b + EntryOut.GENERATION, e.generation());
        out.putLong(b + EntryOut.ENTRY_VALID, entry.sec());
        out.putLong(b + EntryOut.ATTR_VALID, attr.sec());
        out.putInt(b + EntryOut.ENTRY_VALID_NSEC, entry.nsec());
        out.putInt(b + EntryOut.ATTR_VALID_NSEC, attr.nsec());
        putAttr(b + EntryOut.ATTR, e.stat());
    }

    private void putAttr(int b, Stat st) {
        out.putLong(b + Attr.INO, st.ino());
        out.putLong(b + Attr.SIZE_, st.size());
        out.putLong(b + Attr.BLOCKS, st.blocks());
        out.putLong(b + Attr.ATIME, st.atime().sec());
        out.putLong(b + Attr.MTIME, st.mtime().sec());
        out.putLong(b + Attr.CTIME, st.ctime().sec());
        out.putInt(b + Attr.ATIMENSEC, (int) st.atime().nsec());
        out.putInt(b + Attr.MTIMENSEC, (int) st.mtime().nsec());
        out.putInt(b + Attr.CTIMENSEC, (int) st.ctime().nsec());
        out.putInt(b + Attr.MODE, st.mode());
        out.putInt(b + Attr.NLINK, (int) Math.min(st.nlink(), 0xFFFF_FFFFL));
        out.putInt(b + Attr.UID, st.uid());
        out.putInt(b + Attr.GID, st.gid());
        // glibc's dev_t and the kernel's 32-bit new_encode_dev agree in the low 32 bits for majors below 4096.
        out.putInt(b + Attr.RDEV, (int) st.rdev());
        out.putInt(b + Attr.BLKSIZE, (int) st.blksize());
        out.putInt(b + Attr.FLAGS, 0);
    }

    ByteBuffer attr(long unique, Stat st, Validity attr) {
        int b = OutHeader.SIZE;
        out.putLong(b + AttrOut.ATTR_VALID, attr.sec());
        out.putInt(b + AttrOut.ATTR_VALID_NSEC, attr.nsec());
        out.putInt(b + AttrOut.DUMMY, 0);
        putAttr(b + AttrOut.ATTR, st);
        return finish(unique, 0, OutHeader.SIZE + AttrOut.SIZE);
    }

    ByteBuffer open(long unique, long fh, int openFlags) {
        return open(unique, fh, openFlags, 0);
    }

    /** An OPEN reply; {@code backingId} is read by the kernel only with FOPEN_PASSTHROUGH in the flags. */
    ByteBuffer open(long unique, long fh, int openFlags, int backingId) {
        putOpen(OutHeader.SIZE, fh, openFlags, backingId);
        return finish(unique, 0, OutHeader.SIZE + OpenOut.SIZE);
    }

    private void putOpen(int b, long fh, int openFlags, int backingId) {
        out.putLong(b + OpenOut.FH, fh);
        out.putInt(b + OpenOut.OPEN_FLAGS, openFlags);
        out.putInt(b + OpenOut.BACKING_ID, backingId);
    }

    /** CREATE: an entry, then an open. */
    ByteBuffer create(long unique, Entry e, Validity entry, Validity attr, long fh, int openFlags, int backingId) {
        putEntry(OutHeader.SIZE, e, entry, attr);
        putOpen(OutHeader.SIZE + EntryOut.SIZE, fh, openFlags, backingId);
        return finish(unique, 0, OutHeader.SIZE + EntryOut.SIZE + OpenOut.SIZE);
    }

    ByteBuffer written(long unique, int size) {
        out.putInt(OutHeader.SIZE + WriteOut.SIZE_, size);
        out.putInt(OutHeader.SIZE + WriteOut.PADDING, 0);
        return finish(unique, 0, OutHeader.SIZE + WriteOut.SIZE);
    }

    ByteBuffer statfs(long unique, StatFs fs) {
        int b = OutHeader.SIZE;
        zero(b, b + StatfsOut.SIZE);
        out.putLong(b + StatfsOut.BLOCKS, fs.blocks());
        out.putLong(b + StatfsOut.BFREE, fs.bfree());
        out.putLong(b + StatfsOut.BAVAIL, fs.bavail());
        out.putLong(b + StatfsOut.FILES, fs.files());
        out.putLong(b + StatfsOut.FFREE, fs.ffree());
        out.putInt(b + StatfsOut.BSIZE, (int) fs.bsize());
        out.putInt(b + StatfsOut.NAMELEN, (int) fs.namemax());
        out.putInt(b + StatfsOut.FRSIZE, (int) fs.frsize());
        return finish(unique, 0, OutHeader.SIZE + StatfsOut.SIZE);
    }

    ByteBuffer init(long unique, InitReply r) {
        int b = OutHeader.SIZE;
        zero(b, b + InitOut.SIZE);
        out.putInt(b + InitOut.MAJOR, r.major());
        out.putInt(b + InitOut.MINOR, r.minor());
        out.putInt(b + InitOut.MAX_READAHEAD, r.maxReadahead());
        out.putInt(b + InitOut.FLAGS, r.flags());
        out.putShort(b + InitOut.MAX_BACKGROUND, (short) r.maxBackground());
        out.putShort(b + InitOut.CONGESTION_THRESHOLD, (short) r.congestionThreshold());
        out.putInt(b + InitOut.MAX_WRITE, r.maxWrite());
        out.putInt(b + InitOut.TIME_GRAN, r.timeGran());
        out.putShort(b + InitOut.MAX_PAGES, (short) r.maxPages());
        out.putInt(b + InitOut.FLAGS2, r.flags2());
        out.putInt(b + InitOut.MAX_STACK_DEPTH, r.maxStackDepth());
        return finish(unique, 0, OutHeader.SIZE + InitOut.SIZE);
    }

    /** GETXATTR or LISTXATTR with size 0: the size needed. */
    ByteBuffer xattrSize(long unique, int size) {
        out.putInt(OutHeader.SIZE + GetxattrOut.SIZE_, size);
        out.putInt(OutHeader.SIZE + GetxattrOut.PADDING, 0);
        return finish(unique, 0, OutHeader.SIZE + GetxattrOut.SIZE);
    }

    /** A reply that is just bytes (READLINK, GETXATTR, LISTXATTR); ERANGE-style limits are the caller's. */
    ByteBuffer bytes(long unique, byte[] data) {
        out.put(OutHeader.SIZE, data, 0, data.length);
        return finish(unique, 0, OutHeader.SIZE + data.length);
    }

    ByteBuffer lseek(long unique, long offset) {
        out.putLong(OutHeader.SIZE, offset);
        return finish(unique, 0, OutHeader.SIZE + 8);
    }

    /**
     * The part of the buffer a READ reply's data goes into, directly after the header, at most {@code max}
     * bytes; then {@link #data} sends what was filled.
     */
    ByteBuffer dataArea(int max) {
        return out.slice(OutHeader.SIZE, Math.min(max, out.capacity() - OutHeader.SIZE));
    }

    ByteBuffer data(long unique, int filled) {
        return finish(unique, 0, OutHeader.SIZE + filled);
    }

    /** Starts a READDIR or READDIRPLUS reply of at most {@code max} bytes of entries. */
    Dirents dirents(int max) {
        return new Dirents(Math.min(max, out.capacity() - OutHeader.SIZE));
    }

    /** Appends directory entries; an entry that does not fit is refused, and the listing resumes there. */
    final class Dirents {
        private final int end;
        private int pos = OutHeader.SIZE;

        private Dirents(int max) {
            this.end = OutHeader.SIZE + max;
        }

        boolean fits(int nameLength, boolean plus) {
            return pos + (plus ? Direntplus.size(nameLength) : Dirent.size(nameLength)) <= end;
        }

        /** A READDIR entry; {@code next} is the offset the listing resumes at after it. */
        boolean add(long ino, long next, int type, byte[] name) {
            if (!fits(name.length, false)) {
                return false;
            }
            pos = putDirent(pos, ino, next, type, name);
            return true;
        }

        /**
         * A READDIRPLUS entry. With {@code e} null (".", "..", or a name that vanished), node id 0 says the
         * kernel should take nothing from it but the name.
         */
        boolean addPlus(Entry e, Validity entry, Validity attr, long ino, long next, int type, byte[] name) {
            if (!fits(name.length, true)) {
                return false;
            }
            if (e == null) {
                zero(pos, pos + EntryOut.SIZE);
            } else {
                putEntry(pos, e, entry, attr);
            }
            pos = putDirent(pos + Direntplus.DIRENT, ino, next, type, name);
            return true;
        }

        private int putDirent(int b, long ino, long next, int type, byte[] name) {
            out.putLong(b + Dirent.INO, ino);
            out.putLong(b + Dirent.OFF, next);
            out.putInt(b + Dirent.NAMELEN, name.length);
            out.putInt(b + Dirent.TYPE, type);
            out.put(b + Dirent.NAME, name, 0, name.length);
            int endOfEntry = b + Dirent.size(name.length);
            zero(b + Dirent.NAME + name.length, endOfEntry);
            return endOfEntry;
        }

        ByteBuffer finish(long unique) {
            return ReplyWriter.this.finish(unique, 0, pos);
        }
    }
}
