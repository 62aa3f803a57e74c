package dev.layerfs.fuse.kernel;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.layerfs.core.nativeio.Stat;
import dev.layerfs.core.nativeio.StatFs;
import dev.layerfs.core.nativeio.Timespec;
import dev.layerfs.fuse.kernel.FuseAbi.Attr;
import dev.layerfs.fuse.kernel.FuseAbi.EntryOut;
import dev.layerfs.fuse.kernel.FuseAbi.OutHeader;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** The wire: struct sizes as fuse.h has them, requests decoded from bytes, replies encoded to bytes. */
class WireTest {
    /** sizeof each struct in include/uapi/linux/fuse.h (x86_64 and aarch64 alike). */
    @Test
    void structSizesAreTheKernels() {
        assertEquals(40, FuseAbi.InHeader.SIZE);
        assertEquals(16, FuseAbi.OutHeader.SIZE);
        assertEquals(88, FuseAbi.Attr.SIZE);
        assertEquals(128, FuseAbi.EntryOut.SIZE);
        assertEquals(104, FuseAbi.AttrOut.SIZE);
        assertEquals(16, FuseAbi.GetattrIn.SIZE);
        assertEquals(88, FuseAbi.SetattrIn.SIZE);
        assertEquals(8, FuseAbi.ForgetIn.SIZE);
        assertEquals(8, FuseAbi.BatchForgetIn.SIZE);
        assertEquals(16, FuseAbi.ForgetOne.SIZE);
        assertEquals(16, FuseAbi.MknodIn.SIZE);
        assertEquals(8, FuseAbi.MkdirIn.SIZE);
        assertEquals(8, FuseAbi.RenameIn.SIZE);
        assertEquals(16, FuseAbi.Rename2In.SIZE);
        assertEquals(8, FuseAbi.LinkIn.SIZE);
        assertEquals(8, FuseAbi.OpenIn.SIZE);
        assertEquals(16, FuseAbi.CreateIn.SIZE);
        assertEquals(16, FuseAbi.OpenOut.SIZE);
        assertEquals(24, FuseAbi.ReleaseIn.SIZE);
        assertEquals(24, FuseAbi.FlushIn.SIZE);
        assertEquals(40, FuseAbi.ReadIn.SIZE);
        assertEquals(40, FuseAbi.WriteIn.SIZE);
        assertEquals(8, FuseAbi.WriteOut.SIZE);
        assertEquals(80, FuseAbi.StatfsOut.SIZE);
        assertEquals(16, FuseAbi.FsyncIn.SIZE);
        assertEquals(8, FuseAbi.SetxattrIn.SIZE);
        assertEquals(8, FuseAbi.GetxattrIn.SIZE);
        assertEquals(8, FuseAbi.GetxattrOut.SIZE);
        assertEquals(8, FuseAbi.AccessIn.SIZE);
        assertEquals(64, FuseAbi.InitIn.SIZE);
        assertEquals(16, FuseAbi.InitIn.COMPAT_SIZE);
        assertEquals(64, FuseAbi.InitOut.SIZE);
        assertEquals(8, FuseAbi.InterruptIn.SIZE);
        assertEquals(32, FuseAbi.FallocateIn.SIZE);
        assertEquals(24, FuseAbi.LseekIn.SIZE);
        assertEquals(56, FuseAbi.CopyFileRangeIn.SIZE);
        assertEquals(24, FuseAbi.Dirent.NAME);
        assertEquals(128 + 24, FuseAbi.Direntplus.DIRENT + FuseAbi.Dirent.NAME);
    }

    /** Each struct's last field ends where the struct does. */
    @Test
    void lastFieldsEndAtTheStructsEnd() {
        assertEquals(FuseAbi.InHeader.SIZE, FuseAbi.InHeader.TOTAL_EXTLEN + 2 + 2);
        assertEquals(FuseAbi.Attr.SIZE, FuseAbi.Attr.FLAGS + 4);
        assertEquals(FuseAbi.SetattrIn.SIZE, FuseAbi.SetattrIn.UNUSED5 + 4);
        assertEquals(FuseAbi.InitOut.FLAGS2 + 4 + 7 * 4, FuseAbi.InitOut.SIZE);
        assertEquals(FuseAbi.StatfsOut.SIZE, FuseAbi.StatfsOut.SPARE + 6 * 4);
        assertEquals(FuseAbi.CopyFileRangeIn.SIZE, FuseAbi.CopyFileRangeIn.FLAGS + 8);
        assertEquals(FuseAbi.ReadIn.SIZE, FuseAbi.ReadIn.PADDING + 4);
    }

    /** Builds a request as the kernel lays it out. */
    static final class Req {
        final ByteBuffer b = ByteBuffer.allocateDirect(4096).order(ByteOrder.LITTLE_ENDIAN);

        Req(int opcode, long unique, long nodeId) {
            b.putInt(0).putInt(opcode).putLong(unique).putLong(nodeId).putInt(1000).putInt(100).putInt(42)
                    .putShort((short) 0).putShort((short) 0);
        }

        Req i32(int v) {
            b.putInt(v);
            return this;
        }

        Req i64(long v) {
            b.putLong(v);
            return this;
        }

        Req name(String s) {
            b.put(s.getBytes(StandardCharsets.ISO_8859_1)).put((byte) 0);
            return this;
        }

        Req bytes(byte[] v) {
            b.put(v);
            return this;
        }

        /** The request with its length in the header; returns the length to parse. */
        int done() {
            int len = b.position();
            b.putInt(0, len);
            return len;
        }

        Request parse() {
            int len = done();
            return assertInstanceOf(Request.Ok.class, Request.parse(b, len)).request();
        }

        Request.Malformed malformed() {
            return malformed(done());
        }

        Request.Malformed malformed(int read) {
            done();
            return assertInstanceOf(Request.Malformed.class, Request.parse(b, read));
        }
    }

    @Test
    void lookupCarriesHeaderAndName() {
        Request r = new Req(1, 77, 5).name("caf\u00e9").parse();
        assertEquals(Opcode.LOOKUP, r.opcode);
        assertEquals(77, r.unique);
        assertEquals(5, r.nodeId);
        assertEquals(1000, r.uid);
        assertEquals(100, r.gid);
        assertEquals(42, r.pid);
        assertEquals("caf\u00e9", r.name(0));
    }

    @Test
    void namesKeepEveryByte() {
        byte[] raw = {(byte) 0xff, (byte) 0xc3, 'x'};
        Request r = new Req(10, 1, 1).bytes(raw).bytes(new byte[] {0}).parse();
        assertArrayEquals(raw, r.name(0).getBytes(StandardCharsets.ISO_8859_1));
    }

    @Test
    void renameTwoHasTwoNamesAndFlags() {
        Request r = new Req(45, 1, 1).i64(9).i32(FuseAbi.RenameFlags.EXCHANGE).i32(0).name("a").name("b").parse();
        assertEquals(new Request.Rename(9, FuseAbi.RenameFlags.EXCHANGE), r.rename());
        assertEquals("a", r.name(0));
        assertEquals("b", r.name(1));
        Request old = new Req(12, 1, 1).i64(3).name("x").name("y").parse();
        assertEquals(new Request.Rename(3, 0), old.rename());
    }

    @Test
    void setattrFields() {
        Request r = new Req(4, 1, 2).i32(FuseAbi.SetattrValid.MODE | FuseAbi.SetattrValid.SIZE).i32(0).i64(7)
                .i64(4096).i64(0).i64(11).i64(12).i64(13).i32(1).i32(2).i32(3).i32(0100644).i32(0).i32(5).i32(6)
                .i32(0).parse();
        Request.Setattr s = r.setattr();
        assertTrue(s.has(FuseAbi.SetattrValid.MODE));
        assertEquals(7, s.fh());
        assertEquals(4096, s.size());
        assertEquals(11, s.atime());
        assertEquals(1, s.atimeNsec());
        assertEquals(12, s.mtime());
        assertEquals(2, s.mtimeNsec());
        assertEquals(0100644, s.mode());
        assertEquals(5, s.uid());
        assertEquals(6, s.gid());
    }

    @Test
    void writeDataIsAViewOfTheRequest() {
        Request r = new Req(16, 1, 2).i64(3).i64(100).i32(5).i32(FuseAbi.WRITE_KILL_SUIDGID).i64(0).i32(0).i32(0)
                .bytes("hello".getBytes(StandardCharsets.US_ASCII)).parse();
        assertEquals(new Request.Write(3, 100, 5, FuseAbi.WRITE_KILL_SUIDGID), r.write());
        ByteBuffer data = r.writeData();
        byte[] got = new byte[data.remaining()];
        data.get(got);
        assertEquals("hello", new String(got, StandardCharsets.US_ASCII));
    }

    @Test
    void batchForgetPairs() {
        Request r = new Req(42, 0, 0).i32(2).i32(0).i64(5).i64(1).i64(6).i64(3).parse();
        assertArrayEquals(new long[] {5, 1, 6, 3}, r.batchForget());
    }

    @Test
    void initOldAndNewSizes() {
        Request old = new Req(26, 1, 0).i32(7).i32(31).i32(131072).i32(0x1234).parse();
        assertEquals(new Request.Init(7, 31, 131072, 0x1234, 0), old.init());
        Req fresh = new Req(26, 1, 0).i32(7).i32(45).i32(131072).i32(0x5678).i32(0x20);
        for (int i = 0; i < 11; i++) {
            fresh.i32(0);
        }
        assertEquals(new Request.Init(7, 45, 131072, 0x5678, 0x20), fresh.parse().init());
    }

    @Test
    void unknownOpcodeParsesForEnosys() {
        Request r = new Req(4000, 9, 1).parse();
        assertNull(r.opcode);
        assertEquals(4000, r.rawOpcode);
    }

    @Test
    void badLengthsAreValuesNotCrashes() {
        assertEquals(0, new Req(1, 5, 1).malformed(20).unique());
        Request.Malformed mismatch = new Req(3, 6, 1).i64(0).i64(0).malformed(48);
        assertEquals(6, mismatch.unique());
        assertTrue(mismatch.replies());
        assertTrue(new Req(3, 7, 1).i64(0).malformed().why().contains("struct"));
        assertTrue(new Req(1, 8, 1).bytes(new byte[] {'a', 'b'}).malformed().why().contains("terminated"));
        assertTrue(new Req(16, 9, 1).i64(3).i64(0).i32(100).i32(0).i64(0).i32(0).i32(0).bytes(new byte[10])
                .malformed().why().contains("write"));
        Request.Malformed forget = new Req(42, 0, 0).i32(1000).i32(0).i64(5).i64(1).malformed();
        assertTrue(!forget.replies());
        assertTrue(new Req(21, 10, 1).i32(50).i32(0).name("user.a").bytes(new byte[3]).malformed().why()
                .contains("value"));
        Req ext = new Req(1, 11, 1).name("a");
        ext.b.putShort(FuseAbi.InHeader.TOTAL_EXTLEN, (short) 1);
        assertTrue(ext.malformed().why().contains("extensions"));
    }

    private static final Stat STAT = new Stat(1, 1234, 0100644, 2, 1000, 100, 0x0801, 4096, 4096, 8,
            new Timespec(10, 11), new Timespec(20, 21), new Timespec(30, 31));

    @Test
    void entryReplyLayout() {
        ReplyWriter w = new ReplyWriter(4096);
        ByteBuffer b = w.entry(99, new ReplyWriter.Entry(5, 1, STAT), new ReplyWriter.Validity(1, 500),
                new ReplyWriter.Validity(2, 0));
        assertEquals(OutHeader.SIZE + EntryOut.SIZE, b.remaining());
        assertEquals(b.remaining(), b.getInt(OutHeader.LEN));
        assertEquals(0, b.getInt(OutHeader.ERROR));
        assertEquals(99, b.getLong(OutHeader.UNIQUE));
        int e = OutHeader.SIZE;
        assertEquals(5, b.getLong(e + EntryOut.NODEID));
        assertEquals(1, b.getLong(e + EntryOut.GENERATION));
        assertEquals(1, b.getLong(e + EntryOut.ENTRY_VALID));
        assertEquals(500, b.getInt(e + EntryOut.ENTRY_VALID_NSEC));
        assertEquals(2, b.getLong(e + EntryOut.ATTR_VALID));
        int a = e + EntryOut.ATTR;
        assertEquals(1234, b.getLong(a + Attr.INO));
        assertEquals(4096, b.getLong(a + Attr.SIZE_));
        assertEquals(20, b.getLong(a + Attr.MTIME));
        assertEquals(21, b.getInt(a + Attr.MTIMENSEC));
        assertEquals(0100644, b.getInt(a + Attr.MODE));
        assertEquals(2, b.getInt(a + Attr.NLINK));
        assertEquals(0x0801, b.getInt(a + Attr.RDEV));
    }

    @Test
    void invalInodeNotificationHasUniqueZeroAndTheCodeAsError() {
        ByteBuffer b = new ReplyWriter(64).invalInode(42);
        assertEquals(OutHeader.SIZE + FuseAbi.NotifyInvalInodeOut.SIZE, b.remaining());
        assertEquals(b.remaining(), b.getInt(OutHeader.LEN));
        assertEquals(FuseAbi.Notify.INVAL_INODE, b.getInt(OutHeader.ERROR));
        assertEquals(0, b.getLong(OutHeader.UNIQUE));
        assertEquals(42, b.getLong(OutHeader.SIZE + FuseAbi.NotifyInvalInodeOut.INO));
        assertEquals(0, b.getLong(OutHeader.SIZE + FuseAbi.NotifyInvalInodeOut.OFF), "from the first page");
        assertEquals(0, b.getLong(OutHeader.SIZE + FuseAbi.NotifyInvalInodeOut.LEN), "to the last");
    }

    @Test
    void errorReplyIsAHeaderWithTheNegatedErrno() {
        ByteBuffer b = new ReplyWriter(64).error(3, 2);
        assertEquals(16, b.remaining());
        assertEquals(-2, b.getInt(OutHeader.ERROR));
    }

    @Test
    void repliesAfterAShortOneStillFit() {
        ReplyWriter w = new ReplyWriter(4096);
        w.error(1, 2);
        ByteBuffer b = w.statfs(2, new StatFs(4096, 4096, 100, 50, 40, 10, 5, 5, 0, 0, 255));
        assertEquals(OutHeader.SIZE + FuseAbi.StatfsOut.SIZE, b.remaining());
        assertEquals(255, b.getInt(OutHeader.SIZE + FuseAbi.StatfsOut.NAMELEN));
        ByteBuffer area = w.dataArea(100);
        area.put((byte) 'z');
        ByteBuffer d = w.data(3, 1);
        assertEquals(17, d.remaining());
        assertEquals('z', d.get(16));
    }

    @Test
    void direntsArePaddedAndStopWhenFull() {
        ReplyWriter w = new ReplyWriter(4096);
        ReplyWriter.Dirents d = w.dirents(24 + 8 + 24 + 8);
        assertTrue(d.add(7, 1, 4, "abc".getBytes(StandardCharsets.US_ASCII)));
        assertTrue(d.add(8, 2, 8, "12345678".getBytes(StandardCharsets.US_ASCII)));
        assertTrue(!d.add(9, 3, 8, "x".getBytes(StandardCharsets.US_ASCII)));
        ByteBuffer b = d.finish(5);
        assertEquals(16 + 32 + 32, b.remaining());
        assertEquals(7, b.getLong(16 + FuseAbi.Dirent.INO));
        assertEquals(1, b.getLong(16 + FuseAbi.Dirent.OFF));
        assertEquals(3, b.getInt(16 + FuseAbi.Dirent.NAMELEN));
        assertEquals(0, b.get(16 + FuseAbi.Dirent.NAME + 3));
        assertEquals(8, b.getLong(48 + FuseAbi.Dirent.INO));
    }

    @Test
    void direntplusWithoutANodeIsZeroed() {
        ReplyWriter w = new ReplyWriter(4096);
        ReplyWriter.Dirents d = w.dirents(4096);
        assertTrue(d.addPlus(null, new ReplyWriter.Validity(1, 0), new ReplyWriter.Validity(1, 0), 1, 1, 4,
                new byte[] {'.'}));
        ByteBuffer b = d.finish(1);
        assertEquals(16 + FuseAbi.Direntplus.size(1), b.remaining());
        assertEquals(0, b.getLong(16 + EntryOut.NODEID));
        assertEquals(1, b.getLong(16 + FuseAbi.Direntplus.DIRENT + FuseAbi.Dirent.INO));
    }

    @Test
    void initNegotiationGatesFlagsOnMinorAndOffer() {
        int all = -1;
        InitNegotiation n = InitNegotiation.negotiate(new Request.Init(7, 45, 131072, all, 0), true, 0);
        assertEquals(FuseAbi.MAX_MINOR, n.reply().minor());
        assertTrue(n.has(FuseAbi.InitFlags.MAX_PAGES));
        assertTrue(n.has(FuseAbi.InitFlags.DO_READDIRPLUS));
        assertTrue(n.has(FuseAbi.InitFlags.PARALLEL_DIROPS));
        assertTrue(n.has(FuseAbi.InitFlags.AUTO_INVAL_DATA));
        assertTrue(n.has(FuseAbi.InitFlags.ATOMIC_O_TRUNC));
        assertTrue(n.has(FuseAbi.InitFlags.POSIX_ACL));
        assertTrue(n.has(FuseAbi.InitFlags.CACHE_SYMLINKS));
        assertTrue(n.has(FuseAbi.InitFlags.HANDLE_KILLPRIV_V2));
        assertTrue(!n.has(FuseAbi.InitFlags.HANDLE_KILLPRIV), "the first version: kills at every write and truncate");
        assertTrue(!n.has(FuseAbi.InitFlags.EXPORT_SUPPORT));
        assertTrue(!n.has(FuseAbi.InitFlags.WRITEBACK_CACHE));
        assertEquals(1 << 20, n.reply().maxWrite());
        assertEquals(256, n.reply().maxPages());
        assertTrue(n.cacheDirectories());

        InitNegotiation old = InitNegotiation.negotiate(new Request.Init(7, 26, 131072, all, 0), true, 0);
        assertEquals(26, old.reply().minor());
        assertTrue(!old.has(FuseAbi.InitFlags.MAX_PAGES));
        assertEquals(32 * 4096, old.reply().maxWrite());
        assertTrue(!old.cacheDirectories());
        assertTrue(!old.has(FuseAbi.InitFlags.CACHE_SYMLINKS), "CACHE_SYMLINKS came with 7.28");
        assertTrue(!old.has(FuseAbi.InitFlags.HANDLE_KILLPRIV_V2), "HANDLE_KILLPRIV_V2 came with 7.33");
        assertTrue(old.has(FuseAbi.InitFlags.POSIX_ACL));
        assertTrue(!InitNegotiation.negotiate(new Request.Init(7, 25, 131072, all, 0), true, 0)
                .has(FuseAbi.InitFlags.POSIX_ACL), "POSIX_ACL came with 7.26");

        InitNegotiation notOffered = InitNegotiation.negotiate(new Request.Init(7, 45, 0, 0, 0), false, 0);
        assertEquals(0, notOffered.reply().flags());
        assertTrue(!notOffered.cacheDirectories());

        assertEquals(71, InitNegotiation.negotiate(new Request.Init(7, 12, 0, all, 0), true, 0).error());
    }

    @Test
    void passthroughIsAskedWithInitExtAndAStackDepthOnlyWhereOffered() {
        int all = -1;
        int passthrough = FuseAbi.InitFlags2.PASSTHROUGH;
        InitNegotiation n = InitNegotiation.negotiate(new Request.Init(7, 45, 131072, all, passthrough), true, 1);
        assertTrue(n.passthrough());
        assertTrue(n.has(FuseAbi.InitFlags.INIT_EXT));
        assertTrue(!n.has(FuseAbi.InitFlags.WRITEBACK_CACHE), "the kernel refuses passthrough with writeback");
        assertEquals(passthrough, n.reply().flags2());
        assertEquals(1, n.reply().maxStackDepth());
        ByteBuffer b = new ReplyWriter(4096).init(1, n.reply());
        assertEquals(passthrough, b.getInt(16 + FuseAbi.InitOut.FLAGS2));
        assertEquals(1, b.getInt(16 + FuseAbi.InitOut.MAX_STACK_DEPTH));

        assertTrue(!InitNegotiation.negotiate(new Request.Init(7, 45, 0, all, passthrough), true, 0).passthrough(),
                "not asked for");
        assertTrue(!InitNegotiation.negotiate(new Request.Init(7, 45, 0, all, 0), true, 1).passthrough(),
                "not offered");
        assertTrue(!InitNegotiation.negotiate(new Request.Init(7, 39, 0, all, passthrough), true, 1).passthrough(),
                "a minor before 7.40");
        InitNegotiation off = InitNegotiation.negotiate(new Request.Init(7, 45, 0, all, passthrough), true, 0);
        assertEquals(0, off.reply().flags2());
        assertEquals(0, off.reply().maxStackDepth());
    }

    @Test
    void openRepliesCarryTheBackingId() {
        ByteBuffer b = new ReplyWriter(4096).open(1, 7, FuseAbi.OpenFlags.PASSTHROUGH, 3);
        assertEquals(16 + FuseAbi.OpenOut.SIZE, b.remaining());
        assertEquals(7, b.getLong(16 + FuseAbi.OpenOut.FH));
        assertEquals(FuseAbi.OpenFlags.PASSTHROUGH, b.getInt(16 + FuseAbi.OpenOut.OPEN_FLAGS));
        assertEquals(3, b.getInt(16 + FuseAbi.OpenOut.BACKING_ID));
    }

    @Test
    void readDataAndWriteDataLieOnPageBoundaries() {
        ReplyWriter w = new ReplyWriter(8192);
        assertEquals(0, w.dataArea(4096).alignmentOffset(0, 4096));
        ByteBuffer in = ReplyWriter.pageAlignedAt(FuseAbi.WRITE_DATA_OFFSET, 8192);
        assertEquals(0, in.alignmentOffset(FuseAbi.WRITE_DATA_OFFSET, 4096));
        assertEquals(ByteOrder.LITTLE_ENDIAN, in.order());
    }
}
