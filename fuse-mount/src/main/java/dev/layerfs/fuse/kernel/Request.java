package dev.layerfs.fuse.kernel;

import dev.layerfs.fuse.kernel.FuseAbi.AccessIn;
import dev.layerfs.fuse.kernel.FuseAbi.BatchForgetIn;
import dev.layerfs.fuse.kernel.FuseAbi.CopyFileRangeIn;
import dev.layerfs.fuse.kernel.FuseAbi.CreateIn;
import dev.layerfs.fuse.kernel.FuseAbi.FallocateIn;
import dev.layerfs.fuse.kernel.FuseAbi.FlushIn;
import dev.layerfs.fuse.kernel.FuseAbi.ForgetIn;
import dev.layerfs.fuse.kernel.FuseAbi.ForgetOne;
import dev.layerfs.fuse.kernel.FuseAbi.FsyncIn;
import dev.layerfs.fuse.kernel.FuseAbi.GetattrIn;
import dev.layerfs.fuse.kernel.FuseAbi.GetxattrIn;
import dev.layerfs.fuse.kernel.FuseAbi.InHeader;
import dev.layerfs.fuse.kernel.FuseAbi.InitIn;
import dev.layerfs.fuse.kernel.FuseAbi.InterruptIn;
import dev.layerfs.fuse.kernel.FuseAbi.LinkIn;
import dev.layerfs.fuse.kernel.FuseAbi.LseekIn;
import dev.layerfs.fuse.kernel.FuseAbi.MkdirIn;
import dev.layerfs.fuse.kernel.FuseAbi.MknodIn;
import dev.layerfs.fuse.kernel.FuseAbi.OpenIn;
import dev.layerfs.fuse.kernel.FuseAbi.ReadIn;
import dev.layerfs.fuse.kernel.FuseAbi.ReleaseIn;
import dev.layerfs.fuse.kernel.FuseAbi.Rename2In;
import dev.layerfs.fuse.kernel.FuseAbi.RenameIn;
import dev.layerfs.fuse.kernel.FuseAbi.SetattrIn;
import dev.layerfs.fuse.kernel.FuseAbi.SetxattrIn;
import dev.layerfs.fuse.kernel.FuseAbi.WriteIn;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/**
 * One request read from /dev/fuse, checked against its {@link Opcode} row: the header, and typed views of the
 * body. It reads the worker's buffer in place, so it is valid until that worker reads the next request. Names are
 * handed out as Latin-1 strings, one char per byte, so that no byte of a name is lost or reinterpreted.
 */
final class Request {
    /** What {@link #parse} gives: a request, or why the bytes are not one. */
    sealed interface Parsed permits Ok, Malformed {}

    record Ok(Request request) implements Parsed {}

    /**
     * Bytes that are not a valid request. {@code unique} is 0 where not even the header could be read;
     * {@code replies} says whether the kernel waits for an answer (then EIO is sent).
     */
    record Malformed(long unique, boolean replies, String why) implements Parsed {}

    private final ByteBuffer buf;
    private final int length;
    /** null for an opcode this transport does not know (answered ENOSYS). */
    final Opcode opcode;
    final int rawOpcode;
    final long unique;
    final long nodeId;
    final int uid;
    final int gid;
    final int pid;
    /** Where the names lie (at most two); fields, not arrays: one request object is made per request read. */
    private int name0Start;
    private int name0End;
    private int name1Start;
    private int name1End;
    /** Where the bytes after the fixed struct and the names begin. */
    private int tail;

    private Request(ByteBuffer buf, int length) {
        this.buf = buf;
        this.length = length;
        this.rawOpcode = buf.getInt(InHeader.OPCODE);
        this.opcode = Opcode.of(rawOpcode);
        this.unique = buf.getLong(InHeader.UNIQUE);
        this.nodeId = buf.getLong(InHeader.NODEID);
        this.uid = buf.getInt(InHeader.UID);
        this.gid = buf.getInt(InHeader.GID);
        this.pid = buf.getInt(InHeader.PID);
    }

    /**
     * Reads the request in {@code buf}'s first {@code read} bytes (as read(2) on /dev/fuse returned them). The
     * buffer must be little-endian. Nothing here throws on bad input: a short or inconsistent request is a
     * {@link Malformed}.
     */
    static Parsed parse(ByteBuffer buf, int read) {
        if (buf.order() != ByteOrder.LITTLE_ENDIAN) {
            throw new IllegalArgumentException("request buffers are little-endian");
        }
        if (read < InHeader.SIZE) {
            return new Malformed(0, false, "a request of " + read + " bytes, shorter than its header");
        }
        Request r = new Request(buf, read);
        long declared = Integer.toUnsignedLong(buf.getInt(InHeader.LEN));
        boolean replies = r.opcode == null || r.opcode.replies;
        if (declared != read) {
            return new Malformed(r.unique, replies, "header says " + declared + " bytes, read " + read);
        }
        if (buf.getShort(InHeader.TOTAL_EXTLEN) != 0) {
            // Extensions come only with flags (security context, supplementary groups) this transport never asks for.
            return new Malformed(r.unique, replies, "request extensions were not negotiated");
        }
        if (r.opcode == null) {
            return new Ok(r);
        }
        int pos = InHeader.SIZE + r.opcode.inSize;
        if (pos > read) {
            return new Malformed(r.unique, replies, r.opcode + ": body of " + (read - InHeader.SIZE)
                    + " bytes, its struct needs " + r.opcode.inSize);
        }
        for (int i = 0; i < r.opcode.names; i++) {
            int end = pos;
            while (end < read && buf.get(end) != 0) {
                end++;
            }
            if (end >= read) {
                return new Malformed(r.unique, replies, r.opcode + ": name " + (i + 1) + " is not terminated");
            }
            if (i == 0) {
                r.name0Start = pos;
                r.name0End = end;
            } else {
                r.name1Start = pos;
                r.name1End = end;
            }
            pos = end + 1;
        }
        r.tail = pos;
        String bad = r.checkTail();
        return bad == null ? new Ok(r) : new Malformed(r.unique, replies, r.opcode + ": " + bad);
    }

    /** The length checks beyond the fixed struct and the names: data, values, forget lists. */
    private String checkTail() {
        long rest = length - tail;
        switch (opcode) {
            case WRITE -> {
                long size = Integer.toUnsignedLong(body(WriteIn.SIZE_));
                if (size > rest) {
                    return "write of " + size + " bytes carries " + rest;
                }
            }
            case SETXATTR -> {
                long size = Integer.toUnsignedLong(body(SetxattrIn.SIZE_));
                if (size > rest) {
                    return "value of " + size + " bytes, " + rest + " sent";
                }
            }
            case BATCH_FORGET -> {
                long count = Integer.toUnsignedLong(body(BatchForgetIn.COUNT));
                if (count * ForgetOne.SIZE > rest) {
                    return count + " forgets in " + rest + " bytes";
                }
            }
            default -> {
            }
        }
        return null;
    }

    private int body(int offset) {
        return buf.getInt(InHeader.SIZE + offset);
    }

    private long bodyLong(int offset) {
        return buf.getLong(InHeader.SIZE + offset);
    }

    /** The i-th name (0 or 1), one char per byte. */
    String name(int i) {
        int start = i == 0 ? name0Start : name1Start;
        int n = (i == 0 ? name0End : name1End) - start;
        byte[] b = new byte[n];
        buf.get(start, b, 0, n);
        return new String(b, StandardCharsets.ISO_8859_1);
    }

    /** The whole request length. */
    int length() {
        return length;
    }

    // ---- typed bodies, one per struct ----

    long forgetNlookup() {
        return bodyLong(ForgetIn.NLOOKUP);
    }

    /** BATCH_FORGET: {nodeid, nlookup} pairs. */
    long[] batchForget() {
        int count = body(BatchForgetIn.COUNT);
        long[] pairs = new long[2 * count];
        int base = InHeader.SIZE + BatchForgetIn.SIZE;
        for (int i = 0; i < count; i++) {
            pairs[2 * i] = buf.getLong(base + i * ForgetOne.SIZE + ForgetOne.NODEID);
            pairs[2 * i + 1] = buf.getLong(base + i * ForgetOne.SIZE + ForgetOne.NLOOKUP);
        }
        return pairs;
    }

    record Getattr(boolean hasFh, long fh) {}

    Getattr getattr() {
        return new Getattr((body(GetattrIn.GETATTR_FLAGS) & FuseAbi.GETATTR_FH) != 0, bodyLong(GetattrIn.FH));
    }

    record Setattr(int valid, long fh, long size, long atime, int atimeNsec, long mtime, int mtimeNsec, int mode,
            int uid, int gid) {
        boolean has(int bit) {
            return (valid & bit) != 0;
        }
    }

    Setattr setattr() {
        return new Setattr(body(SetattrIn.VALID), bodyLong(SetattrIn.FH), bodyLong(SetattrIn.SIZE_),
                bodyLong(SetattrIn.ATIME), body(SetattrIn.ATIMENSEC), bodyLong(SetattrIn.MTIME),
                body(SetattrIn.MTIMENSEC), body(SetattrIn.MODE), body(SetattrIn.UID), body(SetattrIn.GID));
    }

    record Mknod(int mode, int rdev, int umask) {}

    Mknod mknod() {
        return new Mknod(body(MknodIn.MODE), body(MknodIn.RDEV), body(MknodIn.UMASK));
    }

    record Mkdir(int mode, int umask) {}

    Mkdir mkdir() {
        return new Mkdir(body(MkdirIn.MODE), body(MkdirIn.UMASK));
    }

    record Rename(long newDir, int flags) {}

    /** RENAME or RENAME2 (flags 0 for RENAME). */
    Rename rename() {
        if (opcode == Opcode.RENAME2) {
            return new Rename(bodyLong(Rename2In.NEWDIR), body(Rename2In.FLAGS));
        }
        return new Rename(bodyLong(RenameIn.NEWDIR), 0);
    }

    long linkOldNodeId() {
        return bodyLong(LinkIn.OLDNODEID);
    }

    /** OPEN and OPENDIR: the open(2) flags. */
    int openFlags() {
        return body(OpenIn.FLAGS);
    }

    /** OPEN: fuse_open_in.open_flags (FUSE_OPEN_KILL_SUIDGID). */
    int openOpenFlags() {
        return body(OpenIn.OPEN_FLAGS);
    }

    /** @param openFlags fuse_create_in.open_flags (FUSE_OPEN_KILL_SUIDGID) */
    record Create(int flags, int mode, int umask, int openFlags) {}

    Create create() {
        return new Create(body(CreateIn.FLAGS), body(CreateIn.MODE), body(CreateIn.UMASK),
                body(CreateIn.OPEN_FLAGS));
    }

    /** READ, READDIR, READDIRPLUS. */
    record Read(long fh, long offset, int size) {}

    Read read() {
        return new Read(bodyLong(ReadIn.FH), bodyLong(ReadIn.OFFSET), body(ReadIn.SIZE_));
    }

    /** @param writeFlags fuse_write_in.write_flags (FUSE_WRITE_KILL_SUIDGID) */
    record Write(long fh, long offset, int size, int writeFlags) {}

    Write write() {
        return new Write(bodyLong(WriteIn.FH), bodyLong(WriteIn.OFFSET), body(WriteIn.SIZE_),
                body(WriteIn.WRITE_FLAGS));
    }

    /** WRITE's data, as a view of the request buffer (valid until the next read). */
    ByteBuffer writeData() {
        int size = body(WriteIn.SIZE_);
        return buf.slice(tail, size);
    }

    /** RELEASE and RELEASEDIR: the handle. */
    long releaseFh() {
        return bodyLong(ReleaseIn.FH);
    }

    long flushFh() {
        return bodyLong(FlushIn.FH);
    }

    record Fsync(long fh, boolean dataOnly) {}

    Fsync fsync() {
        return new Fsync(bodyLong(FsyncIn.FH), (body(FsyncIn.FSYNC_FLAGS) & FuseAbi.FSYNC_FDATASYNC) != 0);
    }

    record Setxattr(int flags, byte[] value) {}

    Setxattr setxattr() {
        int size = body(SetxattrIn.SIZE_);
        byte[] value = new byte[size];
        buf.get(tail, value, 0, size);
        return new Setxattr(body(SetxattrIn.FLAGS), value);
    }

    /** GETXATTR and LISTXATTR: the caller's buffer size (0 asks for the size needed). */
    int xattrSize() {
        return body(GetxattrIn.SIZE_);
    }

    int accessMask() {
        return body(AccessIn.MASK);
    }

    record Init(int major, int minor, int maxReadahead, int flags, int flags2) {}

    Init init() {
        boolean extended = length - InHeader.SIZE >= InitIn.SIZE;
        return new Init(body(InitIn.MAJOR), body(InitIn.MINOR), body(InitIn.MAX_READAHEAD), body(InitIn.FLAGS),
                extended ? body(InitIn.FLAGS2) : 0);
    }

    long interruptedUnique() {
        return bodyLong(InterruptIn.UNIQUE);
    }

    record Fallocate(long fh, long offset, long length, int mode) {}

    Fallocate fallocate() {
        return new Fallocate(bodyLong(FallocateIn.FH), bodyLong(FallocateIn.OFFSET), bodyLong(FallocateIn.LENGTH),
                body(FallocateIn.MODE));
    }

    record Lseek(long fh, long offset, int whence) {}

    Lseek lseek() {
        return new Lseek(bodyLong(LseekIn.FH), bodyLong(LseekIn.OFFSET), body(LseekIn.WHENCE));
    }

    /** COPY_FILE_RANGE: from an open file to an open file of another (or the same) node. */
    record CopyFileRange(long fhIn, long offIn, long nodeIdOut, long fhOut, long offOut, long length, long flags) {}

    CopyFileRange copyFileRange() {
        return new CopyFileRange(bodyLong(CopyFileRangeIn.FH_IN), bodyLong(CopyFileRangeIn.OFF_IN),
                bodyLong(CopyFileRangeIn.NODEID_OUT), bodyLong(CopyFileRangeIn.FH_OUT),
                bodyLong(CopyFileRangeIn.OFF_OUT), bodyLong(CopyFileRangeIn.LEN), bodyLong(CopyFileRangeIn.FLAGS));
    }

    @Override
    public String toString() {
        return (opcode == null ? "opcode " + rawOpcode : opcode.name()) + " unique " + unique + " node " + nodeId
                + " len " + length + detail();
    }

    /** What -d shows beyond the header: the xattr named, which attributes a SETATTR sets, the kill flags. */
    private String detail() {
        if (opcode == null) {
            return "";
        }
        return switch (opcode) {
            case GETXATTR, SETXATTR, REMOVEXATTR -> " name " + name(0);
            case SETATTR -> " valid 0x" + Integer.toHexString(body(SetattrIn.VALID));
            case WRITE -> " write_flags 0x" + Integer.toHexString(body(WriteIn.WRITE_FLAGS));
            case OPEN -> " flags 0" + Integer.toOctalString(openFlags()) + " open_flags 0x"
                    + Integer.toHexString(openOpenFlags());
            case CREATE -> " flags 0" + Integer.toOctalString(body(CreateIn.FLAGS)) + " open_flags 0x"
                    + Integer.toHexString(body(CreateIn.OPEN_FLAGS));
            default -> "";
        };
    }
}
