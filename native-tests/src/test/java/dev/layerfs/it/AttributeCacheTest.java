package dev.layerfs.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * What the README documents about the kernel's FUSE attribute cache: with the default timeout (1 s) the link count
 * cached for one name of a hard-linked file, and a directory's ctime after a copy-up into it, can be stale for a
 * moment; {@code -o timeout=0} removes both effects. These tests use timeout=0 and need no waiting of any kind,
 * except the one that shows a descriptor on one name of a hard-linked file catching up with the default timeout,
 * and the one showing what the kernel transport keeps of a directory's times after a copy-up into it.
 */
class AttributeCacheTest {
    @RegisterExtension
    final MountExtension ext = new MountExtension();

    @Test
    void withTimeoutZeroLinkCountsAndDirectoryTimesAreNeverStale() throws Exception {
        Layers l = ext.layers("t0", 2);
        Fixture.file(l.lower(0).resolve("a/low1"), "low1 content\n");
        Fixture.file(l.lower(0).resolve("a/low2"), "low2\n");
        Fixture.file(l.lower(1).resolve("a/d/x"), "x\n");
        LayerfsMount m = ext.mount(l, "timeout=0");

        assertEquals(1, Files.getAttribute(m.path("a/low1"), "unix:nlink"));
        Files.createLink(m.path("a/hard"), m.path("a/low1"));
        assertEquals(2, Files.getAttribute(m.path("a/low1"), "unix:nlink"), "the other name's count at once");
        assertEquals(2, Files.getAttribute(m.path("a/hard"), "unix:nlink"));
        Files.delete(m.path("a/hard"));
        assertEquals(1, Files.getAttribute(m.path("a/low1"), "unix:nlink"));

        // tar of a directory right after a copy-up into it (which changes the directory's ctime).
        Files.writeString(m.path("a/d/added"), "added\n");
        Files.delete(m.path("a/low2"));
        Xattr.set(m.path("a/low1"), "user.t", "y").assertOk();
        Path archive = ext.dir("out").resolve("a.tar");
        Sh.ok("tar", "-C", m.path("a").toString(), "-cf", archive.toString(), ".");
        String listing = Sh.ok("tar", "-tf", archive.toString()).stdout();
        assertEquals("./\n./d/\n./d/added\n./d/x\n./low1\n", String.join("\n",
                listing.lines().sorted().toList()) + "\n");
    }

    /**
     * Kernel transport, default timeout: a file copied up into a directory already on the upper layer leaves the
     * directory's mtime as it was (as on the kernel overlay: the copy-up puts the times back) and its ctime as the
     * kernel cached it (README "How layerfs differs"); the next change made in it through the mount shows the
     * directory's real times.
     */
    @Test
    void aFileCopiedUpIntoAnUpperDirectoryLeavesTheDirectorysCachedTimes() throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue(Transports.kernel(), "the kernel transport's attribute cache");
        Layers l = ext.layers("ctime", 1);
        Fixture.file(l.lower(0).resolve("a/low"), "low\n");
        LayerfsMount m = ext.mount(l);
        Path a = m.path("a");
        Files.writeString(a.resolve("made"), "made\n");
        Object mtime = Files.getAttribute(a, "unix:lastModifiedTime");
        Object ctime = Files.getAttribute(a, "unix:ctime");

        Files.setPosixFilePermissions(a.resolve("low"), PosixFilePermissions.fromString("rw-------"));
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(a.resolve("low"))));
        assertTrue(Files.exists(l.upper().resolve("a/low")), "copied up");
        assertEquals(mtime, Files.getAttribute(a, "unix:lastModifiedTime"), "the copy-up put the mtime back");
        assertEquals(mtime, Files.getAttribute(l.upper().resolve("a"), "unix:lastModifiedTime"), "on disk too");
        assertEquals(ctime, Files.getAttribute(a, "unix:ctime"), "the ctime the kernel had");

        Files.delete(a.resolve("made"));
        assertEquals(Files.getAttribute(l.upper().resolve("a"), "unix:ctime"), Files.getAttribute(a, "unix:ctime"),
                "after a change through the mount, the directory's own ctime");
    }

    /**
     * A descriptor kept open on one name of a hard-linked file (its own kernel inode and page cache, since libfuse
     * 2 names files by path) sees a write and a truncate through the other name once the attributes it cached
     * expire: FUSE_AUTO_INVAL_DATA has the read ask for fresh attributes and drop the changed file's pages. Before,
     * the pages cached at the first read were served for as long as the descriptor stayed open.
     */
    @Test
    void anOpenDescriptorCatchesUpWithChangesThroughAnotherName() throws Exception {
        Layers l = ext.layers("hard", 1);
        Files.writeString(l.upper().resolve("a"), "o".repeat(20_000));
        Files.createLink(l.upper().resolve("b"), l.upper().resolve("a"));
        LayerfsMount m = ext.mount(l);

        try (FileChannel a = FileChannel.open(m.path("a"), StandardOpenOption.READ)) {
            assertEquals("oooooooo", read(a, 4000, 8), "the first read caches a's pages");
            try (FileChannel b = FileChannel.open(m.path("b"), StandardOpenOption.WRITE)) {
                b.write(ByteBuffer.wrap("NEWDATA!".getBytes(StandardCharsets.US_ASCII)), 4000);
            }
            assertEquals("NEWDATA!", readUntil(a, 4000, 8, "NEWDATA!"),
                    "a write through b, read through a descriptor on a");
            try (FileChannel b = FileChannel.open(m.path("b"), StandardOpenOption.WRITE)) {
                b.truncate(100);
            }
            assertEquals("", readUntil(a, 4000, 8, ""),
                    "a truncate through b, read past the new end through a descriptor on a");
        }
    }

    /** Reads until the expected text comes or the attribute timeout (1 s) has long passed; returns the last read. */
    private static String readUntil(FileChannel ch, long position, int length, String expected) throws Exception {
        long deadline = System.nanoTime() + 5_000_000_000L;
        String got = read(ch, position, length);
        while (!got.equals(expected) && System.nanoTime() < deadline) {
            Thread.sleep(100);
            got = read(ch, position, length);
        }
        return got;
    }

    /** Up to {@code length} bytes at {@code position}, as ASCII text ("" at the end of the file). */
    private static String read(FileChannel ch, long position, int length) throws Exception {
        ByteBuffer buf = ByteBuffer.allocate(length);
        ch.read(buf, position);
        return new String(buf.array(), 0, buf.position(), StandardCharsets.US_ASCII);
    }
}
