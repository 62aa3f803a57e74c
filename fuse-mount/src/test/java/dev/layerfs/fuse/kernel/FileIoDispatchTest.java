package dev.layerfs.fuse.kernel;

import static dev.layerfs.fuse.kernel.DispatchFixture.error;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.layerfs.core.Overlay;
import dev.layerfs.core.error.Errno;
import dev.layerfs.core.model.OverlayConfig;
import dev.layerfs.core.nativeio.Linux;
import dev.layerfs.fuse.kernel.FuseAbi.EntryOut;
import dev.layerfs.fuse.kernel.FuseAbi.InitFlags2;
import dev.layerfs.fuse.kernel.FuseAbi.OpenFlags;
import dev.layerfs.fuse.kernel.FuseAbi.OpenOut;
import dev.layerfs.fuse.kernel.FuseAbi.OutHeader;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * OPEN, CREATE, RELEASE, LSEEK and COPY_FILE_RANGE through the dispatcher on a real overlay, with passthrough
 * negotiated and a fake device that hands out backing ids: which opens are passed through, which are served,
 * and what a copy-up under a passed-through lower file does; and what a reply the kernel refused (the request
 * was abandoned) hands back: its open handle, its entries' lookups.
 */
class FileIoDispatchTest {
    private static final int ESTALE = Errno.ESTALE.code();
    private static final int ENXIO = Errno.ENXIO.code();
    private static final int EBADF = Errno.EBADF.code();

    @TempDir
    Path tmp;

    private Overlay overlay;
    private NodeTable nodes;
    private Dispatcher dispatcher;
    private DispatchFixture kernel;
    private final List<String> device = new ArrayList<>();
    private int nextBacking = 1;

    private void mount(PassthroughMode mode) throws Exception {
        Path lower = Files.createDirectories(tmp.resolve("lower"));
        Files.writeString(lower.resolve("a"), "lower a");
        Path upper = Files.createDirectories(tmp.resolve("upper"));
        Files.writeString(upper.resolve("u"), "upper u");
        overlay = Overlay.open(OverlayConfig.writable(List.of(lower), upper,
                Files.createDirectories(tmp.resolve("work"))));
        OverlayBridge bridge = new OverlayBridge(overlay);
        nodes = new NodeTable(bridge.stat("").ino());
        Backings backings = new Backings();
        backings.attach(new Backings.Device() {
            @Override
            public int open(int fd) {
                device.add("open");
                return nextBacking++;
            }

            @Override
            public void close(int backingId) {
                device.add("close " + backingId);
            }
        });
        // As the session does: no stack depth to ask passthrough with where it is off.
        dispatcher = new Dispatcher(bridge, nodes, 1.0, mode, mode == PassthroughMode.OFF ? 0 : 1, backings);
        kernel = new DispatchFixture(dispatcher);
        // fuse_init_in of 64 bytes: major, minor, max_readahead, flags, flags2, then unused words.
        WireTest.Req init = kernel.req(Opcode.INIT, 0).i32(7).i32(45).i32(131072).i32(-1).i32(InitFlags2.PASSTHROUGH);
        for (int i = 0; i < 11; i++) {
            init.i32(0);
        }
        assertEquals(0, error(kernel.call(init)));
        assertEquals(mode != PassthroughMode.OFF, dispatcher.negotiated().passthrough(), "asked for unless off");
    }

    @AfterEach
    void close() {
        if (overlay != null) {
            overlay.close();
        }
    }

    private long lookup(String name) {
        ByteBuffer r = kernel.call(kernel.req(Opcode.LOOKUP, 1).name(name));
        assertEquals(0, error(r));
        return r.getLong(OutHeader.SIZE + EntryOut.NODEID);
    }

    /** An open reply: handle, FOPEN_* flags, backing id. */
    private record Opened(long fh, int flags, int backing) {}

    private Opened open(long node, int flags) {
        ByteBuffer r = kernel.call(kernel.req(Opcode.OPEN, node).i32(flags).i32(0));
        assertEquals(0, error(r));
        return new Opened(r.getLong(OutHeader.SIZE + OpenOut.FH), r.getInt(OutHeader.SIZE + OpenOut.OPEN_FLAGS),
                r.getInt(OutHeader.SIZE + OpenOut.BACKING_ID));
    }

    private void release(long node, long fh) {
        assertEquals(0, error(kernel.call(kernel.req(Opcode.RELEASE, node).i64(fh).i32(0).i32(0).i64(0))));
    }

    @Test
    void upperFilesArePassedThroughAndLowerFilesServedWithTheirCacheKept() throws Exception {
        mount(PassthroughMode.UPPER);
        long u = lookup("u");
        Opened first = open(u, Linux.O_RDONLY);
        Opened second = open(u, Linux.O_RDWR);
        assertEquals(new Opened(first.fh(), OpenFlags.PASSTHROUGH, 1), first);
        assertEquals(1, second.backing(), "every open of a node shares its backing");
        release(u, first.fh());
        release(u, second.fh());
        assertEquals(List.of("open"), device, "the backing is kept for the node's next open");
        Opened third = open(u, Linux.O_RDONLY);
        assertEquals(1, third.backing(), "and reused by it");
        release(u, third.fh());
        assertEquals(List.of("open"), device);

        long a = lookup("a");
        Opened ro = open(a, Linux.O_RDONLY);
        assertEquals(OpenFlags.KEEP_CACHE, ro.flags(), "a lower file on a writable stack is served");
        Opened rw = open(a, Linux.O_RDWR);
        assertEquals(0, rw.flags(), "served like the node's other open, on the upper copy now");
        assertEquals(List.of("open"), device);
        release(a, ro.fh());
        release(a, rw.fh());
        Opened later = open(a, Linux.O_RDONLY);
        assertEquals(OpenFlags.PASSTHROUGH, later.flags(), "copied up: passed through from now on");
        release(a, later.fh());
        assertEquals("lower a", Files.readString(tmp.resolve("lower/a")));

        assertEquals(0, error(kernel.call(kernel.req(Opcode.UNLINK, 1).name("u"))));
        assertEquals(List.of("open", "open", "close 1"), device, "the name gone, its kept backing is closed");
        kernel.call(kernel.req(Opcode.FORGET, a).i64(1));
        assertEquals(List.of("open", "open", "close 1", "close 2"), device, "a forgotten node keeps none");
    }

    @Test
    void aLowerFilePassedThroughAndThenCopiedUpGetsANewNode() throws Exception {
        mount(PassthroughMode.ALL);
        long a = lookup("a");
        Opened ro = open(a, Linux.O_RDONLY);
        assertEquals(OpenFlags.PASSTHROUGH, ro.flags());
        ByteBuffer r = kernel.call(kernel.req(Opcode.OPEN, a).i32(Linux.O_RDWR).i32(0));
        assertEquals(ESTALE, error(r), "the lower backing is never handed to an open of the upper copy");
        long again = lookup("a");
        assertNotEquals(a, again, "the name has a new node");
        Opened rw = open(again, Linux.O_RDWR);
        assertEquals(new Opened(rw.fh(), OpenFlags.PASSTHROUGH, 2), rw);
        assertEquals(List.of("open", "open"), device);
        release(a, ro.fh());
        assertEquals(List.of("open", "open", "close 1"), device);
        assertEquals("lower a", Files.readString(tmp.resolve("lower/a")));
    }

    @Test
    void lseekFindsDataAndHolesAndCopyFileRangeCopies() throws Exception {
        mount(PassthroughMode.OFF);
        long u = lookup("u");
        Opened f = open(u, Linux.O_RDWR);
        assertEquals(0, f.flags() & OpenFlags.PASSTHROUGH);
        ByteBuffer r = kernel.call(kernel.req(Opcode.LSEEK, u).i64(f.fh()).i64(0).i32(Linux.SEEK_DATA).i32(0));
        assertEquals(0, error(r));
        assertEquals(0, r.getLong(OutHeader.SIZE));
        r = kernel.call(kernel.req(Opcode.LSEEK, u).i64(f.fh()).i64(0).i32(Linux.SEEK_HOLE).i32(0));
        assertEquals(7, r.getLong(OutHeader.SIZE), "the end of the file is a hole");
        assertEquals(ENXIO, error(kernel.call(kernel.req(Opcode.LSEEK, u).i64(f.fh()).i64(100).i32(Linux.SEEK_DATA)
                .i32(0))));

        long a = lookup("a");
        Opened src = open(a, Linux.O_RDONLY);
        // fh_in, off_in, nodeid_out, fh_out, off_out, len, flags
        r = kernel.call(kernel.req(Opcode.COPY_FILE_RANGE, a).i64(src.fh()).i64(0).i64(u).i64(f.fh()).i64(2).i64(100)
                .i64(0));
        assertEquals(0, error(r));
        assertEquals(7, r.getInt(OutHeader.SIZE), "copied up to the source's end");
        assertEquals("uplower a", Files.readString(tmp.resolve("upper/u")));
        assertEquals(9, error(kernel.call(kernel.req(Opcode.COPY_FILE_RANGE, u).i64(f.fh()).i64(0).i64(a).i64(src.fh())
                .i64(0).i64(1).i64(0))), "EBADF: the destination is open read-only");
        assertEquals("lower a", Files.readString(tmp.resolve("lower/a")));
    }

    /** A request whose reply the kernel refused (it was interrupted and abandoned): undone as RELEASE would. */
    private void abandon(WireTest.Req r) {
        Request parsed = r.parse();
        ByteBuffer reply = kernel.dispatch(parsed);
        assertEquals(0, error(reply));
        dispatcher.abandoned(parsed, reply);
    }

    @Test
    void anOpenWhoseReplyWasRefusedIsReleased() throws Exception {
        mount(PassthroughMode.ALL);
        long u = lookup("u");
        long fh = open(u, Linux.O_RDONLY).fh();
        release(u, fh);
        assertEquals(List.of("open"), device, "kept");
        abandon(kernel.req(Opcode.OPEN, u).i32(Linux.O_RDWR).i32(0));
        assertEquals(List.of("open"), device, "its share of the kept backing is given back");
        assertEquals(-1, nodes.anyHandle(nodes.get(u)), "the node has no open file left");
        long again = open(u, Linux.O_RDONLY).fh();
        abandon(kernel.req(Opcode.OPEN, u).i32(Linux.O_RDONLY).i32(0));
        release(u, again);
        assertEquals(List.of("open"), device, "one backing all along");
        assertEquals(1, open(u, Linux.O_RDONLY).backing(), "still the kept one");
    }

    @Test
    void aCreateWhoseReplyWasRefusedIsReleasedAndForgotten() throws Exception {
        mount(PassthroughMode.ALL);
        int known = nodes.size();
        WireTest.Req create = kernel.req(Opcode.CREATE, 1).i32(Linux.O_RDWR).i32(0100644).i32(0).i32(0).name("n");
        Request parsed = create.parse();
        ByteBuffer reply = kernel.dispatch(parsed);
        assertEquals(0, error(reply));
        long node = reply.getLong(OutHeader.SIZE + EntryOut.NODEID);
        long fh = reply.getLong(OutHeader.SIZE + EntryOut.SIZE + OpenOut.FH);
        dispatcher.abandoned(parsed, reply);
        assertEquals(List.of("open", "close 1"), device);
        assertNull(nodes.get(node), "its one lookup is forgotten");
        assertEquals(known, nodes.size());
        assertEquals(EBADF, error(kernel.call(kernel.req(Opcode.LSEEK, node).i64(fh).i64(0).i32(Linux.SEEK_DATA)
                .i32(0))));
        assertEquals(0, Files.size(tmp.resolve("upper/n")), "the file itself stays, as after a release");
    }

    @Test
    void anOpendirWhoseReplyWasRefusedDropsItsHandle() throws Exception {
        mount(PassthroughMode.OFF);
        Request parsed = kernel.req(Opcode.OPENDIR, 1).i32(0).i32(0).parse();
        ByteBuffer reply = kernel.dispatch(parsed);
        long fh = reply.getLong(OutHeader.SIZE + OpenOut.FH);
        dispatcher.abandoned(parsed, reply);
        assertEquals(EBADF, error(kernel.call(kernel.req(Opcode.READDIR, 1).i64(fh).i64(0).i32(4096).i32(0).i64(0)
                .i32(0).i32(0))));
    }

    /** The node id of an entry reply, which must be a success. */
    private static long entryNode(ByteBuffer reply) {
        assertEquals(0, error(reply));
        return reply.getLong(OutHeader.SIZE + EntryOut.NODEID);
    }

    /** Dispatches {@code r}, then refuses its reply as the kernel does for an abandoned request; its reply. */
    private ByteBuffer refused(WireTest.Req r) {
        Request parsed = r.parse();
        ByteBuffer reply = kernel.dispatch(parsed);
        dispatcher.abandoned(parsed, reply);
        return reply;
    }

    private void forget(long node, long count) {
        assertNull(kernel.call(kernel.req(Opcode.FORGET, node).i64(count)));
    }

    @Test
    void aLookupWhoseReplyWasRefusedKeepsOnlyTheLookupsTheKernelCounted() throws Exception {
        mount(PassthroughMode.OFF);
        long u = lookup("u");
        assertEquals(u, entryNode(refused(kernel.req(Opcode.LOOKUP, 1).name("u"))), "the same node, once more");
        forget(u, 1);
        assertNull(nodes.get(u), "the one lookup the kernel counted is its last");

        int known = nodes.size();
        long a = entryNode(refused(kernel.req(Opcode.LOOKUP, 1).name("a")));
        assertNull(nodes.get(a), "a node only the refused reply named is gone");
        assertEquals(known, nodes.size());
    }

    @Test
    void aRefusedNegativeEntryUndoesNothing() throws Exception {
        mount(PassthroughMode.OFF);
        long u = lookup("u");
        int known = nodes.size();
        assertEquals(0, entryNode(refused(kernel.req(Opcode.LOOKUP, 1).name("missing"))), "a negative entry");
        assertEquals(known, nodes.size());
        forget(u, 1);
        assertNull(nodes.get(u));
    }

    @Test
    void aNewNameWhoseEntryReplyWasRefusedIsForgottenButStays() throws Exception {
        mount(PassthroughMode.OFF);
        int known = nodes.size();
        long dir = entryNode(refused(kernel.req(Opcode.MKDIR, 1).i32(0755).i32(0).name("d")));
        long fifo = entryNode(refused(kernel.req(Opcode.MKNOD, 1).i32(0010644).i32(0).i32(0).i32(0).name("p")));
        long link = entryNode(refused(kernel.req(Opcode.SYMLINK, 1).name("s").name("u")));
        assertNull(nodes.get(dir));
        assertNull(nodes.get(fifo));
        assertNull(nodes.get(link));
        assertEquals(known, nodes.size());
        assertTrue(Files.isDirectory(tmp.resolve("upper/d")), "what the request made stays, as the kernel sees it");
        assertEquals("u", Files.readSymbolicLink(tmp.resolve("upper/s")).toString());
        assertNotEquals(dir, lookup("d"), "a later lookup makes a new node");

        long u = lookup("u");
        assertEquals(u, entryNode(refused(kernel.req(Opcode.LINK, 1).i64(u).name("u2"))), "LINK names the target");
        forget(u, 1);
        assertNull(nodes.get(u), "the link's lookup is undone: the kernel's one FORGET drops the node");
        assertTrue(Files.exists(tmp.resolve("upper/u2")));
    }

    @Test
    void aReaddirplusWhoseReplyWasRefusedForgetsEachEntrysLookup() throws Exception {
        mount(PassthroughMode.OFF);
        long u = lookup("u");
        int known = nodes.size();
        ByteBuffer open = kernel.call(kernel.req(Opcode.OPENDIR, 1).i32(0).i32(0));
        assertEquals(0, error(open));
        long fh = open.getLong(OutHeader.SIZE + OpenOut.FH);
        ByteBuffer listing = refused(kernel.req(Opcode.READDIRPLUS, 1).i64(fh).i64(0).i32(4096).i32(0).i64(0).i32(0)
                .i32(0));
        assertEquals(0, error(listing));
        long[] listed = ReplyWriter.direntplusNodeIdsOf(listing);
        assertEquals(2, listed.length, "a and u carry nodes, . and .. none");
        assertTrue(listed[0] == u || listed[1] == u);
        assertEquals(known, nodes.size(), "a's new node is gone");
        forget(u, 1);
        assertNull(nodes.get(u), "u keeps only the lookup the kernel counted");
        assertEquals(0, error(kernel.call(kernel.req(Opcode.RELEASEDIR, 1).i64(fh).i32(0).i32(0).i64(0))));
    }

    @Test
    void aRefusedErrorReplyUndoesNothing() throws Exception {
        mount(PassthroughMode.ALL);
        long u = lookup("u");
        long fh = open(u, Linux.O_RDONLY).fh();
        Request parsed = kernel.req(Opcode.OPEN, 999).i32(Linux.O_RDONLY).i32(0).parse();
        ByteBuffer reply = kernel.dispatch(parsed);
        assertNotEquals(0, error(reply));
        dispatcher.abandoned(parsed, reply);
        assertEquals(List.of("open"), device);
        release(u, fh);
    }
}
