package dev.layerfs.fuse.kernel;

import static dev.layerfs.fuse.kernel.DispatchFixture.error;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.layerfs.core.Overlay;
import dev.layerfs.core.error.Errno;
import dev.layerfs.core.model.KernelFeatures;
import dev.layerfs.core.model.OverlayConfig;
import dev.layerfs.fuse.kernel.FuseAbi.Attr;
import dev.layerfs.fuse.kernel.FuseAbi.EntryOut;
import dev.layerfs.fuse.kernel.FuseAbi.OutHeader;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The kernel transport without a mount: requests encoded as the kernel sends them go through the dispatcher to a
 * real overlay on temporary directories, and the replies are decoded at the wire's offsets.
 */
class DispatcherTest {
    private static final int ENOSYS = Errno.ENOSYS.code();
    private static final int EINVAL = Errno.EINVAL.code();

    @TempDir
    Path tmp;

    private Overlay overlay;
    private NodeTable nodes;
    private Dispatcher dispatcher;
    private DispatchFixture kernel;

    @BeforeEach
    void mount() throws Exception {
        Path lower = Files.createDirectories(tmp.resolve("lower"));
        Files.writeString(lower.resolve("a"), "hello");
        Files.createDirectories(lower.resolve("dir"));
        Files.writeString(lower.resolve("dir/x"), "x");
        overlay = Overlay.open(OverlayConfig.writable(List.of(lower), Files.createDirectories(tmp.resolve("upper")),
                Files.createDirectories(tmp.resolve("work"))));
        OverlayBridge bridge = new OverlayBridge(overlay);
        nodes = new NodeTable(bridge.stat("").ino());
        dispatcher = new Dispatcher(bridge, nodes, 1.0);
        kernel = new DispatchFixture(dispatcher);
        ByteBuffer init = kernel.call(kernel.req(Opcode.INIT, 0).i32(7).i32(45).i32(131072).i32(-1));
        assertEquals(0, error(init));
    }

    @AfterEach
    void close() {
        overlay.close();
    }

    private static long nodeId(ByteBuffer entry) {
        return entry.getLong(OutHeader.SIZE + EntryOut.NODEID);
    }

    private long lookup(long parent, String name) {
        ByteBuffer r = kernel.call(kernel.req(Opcode.LOOKUP, parent).name(name));
        assertEquals(0, error(r));
        return nodeId(r);
    }

    @Test
    void lookupHandsOutANodeAndForgetTakesItBack() {
        long a = lookup(1, "a");
        assertEquals(a, lookup(1, "a"), "one node per name");
        assertEquals(2, nodes.size());
        assertNull(kernel.call(kernel.req(Opcode.FORGET, a).i64(2)), "FORGET has no reply");
        assertEquals(1, nodes.size());
    }

    @Test
    void aMissingNameIsANegativeEntryTheKernelMayCache() {
        ByteBuffer r = kernel.call(kernel.req(Opcode.LOOKUP, 1).name("missing"));
        assertEquals(0, error(r));
        assertEquals(0, nodeId(r));
        assertEquals(1, r.getLong(OutHeader.SIZE + EntryOut.ENTRY_VALID));
    }

    @Test
    void linkAnswersWithTheSourcesNode() {
        long a = lookup(1, "a");
        ByteBuffer r = kernel.call(kernel.req(Opcode.LINK, 1).i64(a).name("b"));
        assertEquals(0, error(r));
        assertEquals(a, nodeId(r));
        assertEquals(2, r.getInt(OutHeader.SIZE + EntryOut.ATTR + Attr.NLINK));
        assertEquals(a, lookup(1, "b"));
    }

    @Test
    void renameFlags() {
        lookup(1, "a");
        assertEquals(EINVAL, error(kernel.call(kernel.req(Opcode.RENAME2, 1).i64(1).i32(FuseAbi.RenameFlags.WHITEOUT)
                .i32(0).name("a").name("c"))));
        ByteBuffer d = kernel.call(kernel.req(Opcode.MKDIR, 1).i32(0755).i32(0).name("d"));
        assertEquals(0, error(d));
        long dirNode = nodeId(d);
        assertEquals(0, error(kernel.call(kernel.req(Opcode.MKNOD, 1).i32(0100644).i32(0).i32(0).i32(0).name("f"))));
        assertEquals(0, error(kernel.call(kernel.req(Opcode.RENAME2, 1).i64(1).i32(FuseAbi.RenameFlags.EXCHANGE).i32(0)
                .name("f").name("d"))));
        assertEquals(dirNode, lookup(1, "f"), "the directory's node now answers under the name f");
        assertEquals(Errno.EEXIST.code(), error(kernel.call(kernel.req(Opcode.RENAME2, 1).i64(1).i32(FuseAbi.RenameFlags.NOREPLACE)
                .i32(0).name("f").name("d"))), "EEXIST");
    }

    @Test
    void requestsThisTransportDoesNotServe() {
        assertEquals(ENOSYS, error(kernel.call(new WireTest.Req(4000, 1, 1))));
        assertEquals(9, error(kernel.call(kernel.req(Opcode.LSEEK, 1).i64(12345).i64(0).i32(3).i32(0))),
                "EBADF: no such handle");
        assertNull(kernel.call(kernel.req(Opcode.INTERRUPT, 0).i64(5)),
                "an INTERRUPT is ignored: the request completes");
    }

    private ByteBuffer setattr(long node, int valid, int mode) {
        byte[] in = new byte[FuseAbi.SetattrIn.SIZE];
        ByteBuffer b = ByteBuffer.wrap(in).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        b.putInt(FuseAbi.SetattrIn.VALID, valid);
        b.putInt(FuseAbi.SetattrIn.MODE, mode);
        return kernel.call(kernel.req(Opcode.SETATTR, node).bytes(in));
    }

    private int opendirFlags(long node) {
        ByteBuffer open = kernel.call(kernel.req(Opcode.OPENDIR, node).i32(0).i32(0));
        assertEquals(0, error(open));
        kernel.call(kernel.req(Opcode.RELEASEDIR, node).i64(open.getLong(OutHeader.SIZE + FuseAbi.OpenOut.FH)).i32(0)
                .i32(0).i64(0));
        return open.getInt(OutHeader.SIZE + FuseAbi.OpenOut.OPEN_FLAGS);
    }

    @Test
    void aSetattrThatChangesNothingCopiesUpAndTheKernelIsToldOfIt() {
        long a = lookup(1, "a");
        assertEquals(0, error(setattr(a, 0, 0)));
        assertTrue(Files.exists(tmp.resolve("upper/a")), "copied up as by the kernel overlay's setattr");
        assertArrayEquals(new long[] {a}, dispatcher.staleNodes(),
                "the object; its parent, already on the upper layer, shows no change but its ctime");
        assertArrayEquals(new long[0], dispatcher.staleNodes(), "told once");
    }

    @Test
    void aDirectoryOpensWithoutItsKeptListingOnceACopyUpBelowChangedIt() {
        long dir = lookup(1, "dir");
        long x = lookup(dir, "x");
        int keep = FuseAbi.OpenFlags.CACHE_DIR | FuseAbi.OpenFlags.KEEP_CACHE;
        assertEquals(keep, opendirFlags(dir));
        assertEquals(0, error(setattr(x, FuseAbi.SetattrValid.MODE, 0600)));
        dispatcher.staleNodes();
        assertEquals(FuseAbi.OpenFlags.CACHE_DIR, opendirFlags(dir), "the kernel drops its cached listing");
        assertEquals(keep, opendirFlags(dir));
    }

    @Test
    void readdirplusCountsALookupForEachEntryItSends() {
        ByteBuffer open = kernel.call(kernel.req(Opcode.OPENDIR, 1).i32(0).i32(0));
        assertEquals(0, error(open));
        long fh = open.getLong(OutHeader.SIZE + FuseAbi.OpenOut.FH);
        int oneEntry = FuseAbi.Direntplus.size(1) + FuseAbi.Direntplus.size(2) + FuseAbi.Direntplus.size(1);
        ByteBuffer first = kernel.call(kernel.req(Opcode.READDIRPLUS, 1).i64(fh).i64(0).i32(oneEntry).i32(0).i64(0)
                .i32(0).i32(0));
        assertEquals(OutHeader.SIZE + oneEntry, first.remaining(), ". and .. and a");
        assertEquals(2, nodes.size(), "a node for a only (. and .. carry none)");
        ByteBuffer rest = kernel.call(kernel.req(Opcode.READDIRPLUS, 1).i64(fh).i64(3).i32(4096).i32(0).i64(0).i32(0)
                .i32(0));
        assertEquals(OutHeader.SIZE + FuseAbi.Direntplus.size(3), rest.remaining(), "dir");
        assertEquals(3, nodes.size());
        assertEquals(0, error(kernel.call(kernel.req(Opcode.RELEASEDIR, 1).i64(fh).i32(0).i32(0).i64(0))));
    }

    @Test
    void writeThenReadThroughAHandle() {
        long a = lookup(1, "a");
        ByteBuffer open = kernel.call(kernel.req(Opcode.OPEN, a).i32(2).i32(0));
        assertEquals(0, error(open));
        long fh = open.getLong(OutHeader.SIZE + FuseAbi.OpenOut.FH);
        ByteBuffer written = kernel.call(kernel.req(Opcode.WRITE, a).i64(fh).i64(0).i32(3).i32(0).i64(0).i32(0).i32(0)
                .bytes("xyz".getBytes(StandardCharsets.US_ASCII)));
        assertEquals(3, written.getInt(OutHeader.SIZE + FuseAbi.WriteOut.SIZE_));
        ByteBuffer read = kernel.call(kernel.req(Opcode.READ, a).i64(fh).i64(0).i32(10).i32(0).i64(0).i32(0).i32(0));
        byte[] data = new byte[read.remaining() - OutHeader.SIZE];
        read.get(OutHeader.SIZE, data);
        assertEquals("xyzlo", new String(data, StandardCharsets.US_ASCII));
        assertEquals(ENOSYS, error(kernel.call(kernel.req(Opcode.FLUSH, a).i64(fh).i32(0).i32(0).i64(0))));
        assertEquals(0, error(kernel.call(kernel.req(Opcode.RELEASE, a).i64(fh).i32(0).i32(0).i64(0))));
        assertNotEquals(0, error(kernel.call(kernel.req(Opcode.READ, a).i64(fh).i64(0).i32(10).i32(0).i64(0).i32(0)
                .i32(0))),
                "a released handle is gone");
    }

    /**
     * With index=on two names of a lower hard link are one object: a RENAME between them changes nothing and each
     * name keeps its node (the kernel's moved dentry is dropped at the next walk, which asks: such names carry no
     * entry timeout, other names the mount's).
     */
    @Test
    void renameBetweenTwoNamesOfAnIndexedObjectKeepsEachNamesNode() throws Exception {
        Path lower = Files.createDirectories(tmp.resolve("ix/lower"));
        Files.writeString(lower.resolve("h1"), "h");
        Files.createLink(lower.resolve("h2"), lower.resolve("h1"));
        Files.writeString(lower.resolve("single"), "s");
        OverlayConfig config = OverlayConfig.writable(List.of(lower),
                Files.createDirectories(tmp.resolve("ix/upper")), Files.createDirectories(tmp.resolve("ix/work")))
                .withFeatures(KernelFeatures.resolve(Map.of("index", "on")));
        try (Overlay ix = Overlay.open(config)) {
            OverlayBridge bridge = new OverlayBridge(ix);
            NodeTable table = new NodeTable(bridge.stat("").ino(), bridge.indexed());
            DispatchFixture k = new DispatchFixture(new Dispatcher(bridge, table, 1.0));
            assertEquals(0, error(k.call(k.req(Opcode.INIT, 0).i32(7).i32(45).i32(131072).i32(-1))));
            ByteBuffer e = k.call(k.req(Opcode.LOOKUP, 1).name("h1"));
            assertEquals(0, error(e));
            long h1 = nodeId(e);
            assertEquals(0, e.getLong(OutHeader.SIZE + EntryOut.ENTRY_VALID), "a name of a hard link: no timeout");
            assertEquals(0, e.getInt(OutHeader.SIZE + EntryOut.ENTRY_VALID_NSEC));
            e = k.call(k.req(Opcode.LOOKUP, 1).name("single"));
            assertEquals(1, e.getLong(OutHeader.SIZE + EntryOut.ENTRY_VALID), "one link: the mount's timeout");
            e = k.call(k.req(Opcode.LOOKUP, 1).name("h2"));
            assertEquals(0, error(e));
            long h2 = nodeId(e);
            assertNotEquals(h1, h2, "each name not copied up is a node of its own");

            assertEquals(0, error(k.call(k.req(Opcode.RENAME, 1).i64(1).name("h1").name("h2"))));
            assertEquals(h2, nodeId(k.call(k.req(Opcode.LOOKUP, 1).name("h2"))), "h2 keeps its own node");
            assertEquals(h1, nodeId(k.call(k.req(Opcode.LOOKUP, 1).name("h1"))), "h1 is still there, its node too");
            assertTrue(Files.exists(lower.resolve("h1")));
            assertEquals(List.of(), listUpper(tmp.resolve("ix/upper")), "nothing was copied up");
        }
    }

    private static List<String> listUpper(Path upper) throws java.io.IOException {
        try (var s = Files.list(upper)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }
}
