package dev.layerfs.it;

import static dev.layerfs.it.Errnos.assertErrno;
import static dev.layerfs.it.Errnos.isWhiteout;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.layerfs.core.error.Errno;
import dev.layerfs.core.nativeio.Linux;
import dev.layerfs.core.nativeio.Stat;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * What a program sees through one layerfs mount, from Java: reads of the lower layers, copy-up on write, every
 * namespace operation, attributes, xattrs (through setfattr/getfattr), fifos, and files kept open while they are
 * unlinked or renamed. The tests share one mount; each works in an area of its own (AREA/ in both lowers), and
 * after each test the lower layers must be exactly as they were.
 */
class MountBehaviourTest {
    @RegisterExtension
    static final MountExtension EXT = new MountExtension();

    private static final int AREAS = 40;
    private static final AtomicInteger NEXT = new AtomicInteger();
    private static final List<String> USED = new java.util.concurrent.CopyOnWriteArrayList<>();
    private static Layers layers;
    private static LayerfsMount mount;
    private static SortedMap<String, Tree.Node> lower1;
    private static SortedMap<String, Tree.Node> lower2;

    /** One test's corner: the merged AREA directory, and AREA in the upper and lower layers. */
    record Area(Path m, Path up, Path l1, Path l2) {
        Path m(String rel) {
            return m.resolve(rel);
        }

        Path up(String rel) {
            return up.resolve(rel);
        }
    }

    @BeforeAll
    static void mountOnce() throws IOException {
        layers = EXT.layers("shared", 2);
        for (int i = 0; i < AREAS; i++) {
            populate(layers.lower(0).resolve("a" + i), layers.lower(1).resolve("a" + i));
        }
        // One big merged directory: 3000 names in L2, 1500 of them (and 500 more) in L1.
        // (Whiteouts for 500 of them, and 300 new names, come from the test.)
        Path big1 = Files.createDirectories(layers.lower(0).resolve("big"));
        Path big2 = Files.createDirectories(layers.lower(1).resolve("big"));
        for (int i = 0; i < 3000; i++) {
            Files.writeString(big2.resolve(String.format("entry-%05d", i)), "l2 " + i);
        }
        for (int i = 1500; i < 3500; i++) {
            Files.writeString(big1.resolve(String.format("entry-%05d", i)), "l1 " + i);
        }
        Fixture.ageAll(layers.lower(0));
        Fixture.ageAll(layers.lower(1));
        lower1 = Tree.scan(layers.lower(0), n -> true);
        lower2 = Tree.scan(layers.lower(1), n -> true);
        mount = EXT.mount(layers);
    }

    /** The standard content of an area: L1 on top of L2. */
    static void populate(Path l1, Path l2) {
        Fixture.file(l2.resolve("shared"), "from l2\n");
        Fixture.file(l2.resolve("low2"), "low2 content\n");
        Fixture.file(l2.resolve("d/x"), "x2\n");
        Fixture.file(l2.resolve("d/y"), "y2\n");
        Fixture.file(l2.resolve("only2/z"), "z\n");
        Fixture.file(l2.resolve("secret"), "top secret\n", "rw-------");
        Fixture.file(l1.resolve("shared"), "from l1\n");
        Fixture.file(l1.resolve("low1"), "low1 content\n");
        Fixture.file(l1.resolve("d/w"), "w1\n");
        Fixture.symlink(l1.resolve("sym"), "low1");
        Fixture.file(l1.resolve("exec"), "#!/bin/sh\necho hi\n", "rwxr-xr-x");
        Fixture.file(l1.resolve("owned"), "owned\n", "rw-r-----");
        Fixture.owner(l1.resolve("owned"), 1234, 5678);
        Fixture.file(l1.resolve("attr"), "attr\n");
        Fixture.xattr(l1.resolve("attr"), "user.color", "blue");
        Fixture.dir(l1.resolve("empty"));
        Fixture.file(l1.resolve("tree/a/b/c"), "deep\n");
        Fixture.file(l1.resolve("tree/a/f"), "f\n");
        Fixture.dir(l1.resolve("tree/a"), "rwxr-x--x");
        Fixture.owner(l1.resolve("tree/a"), 1001, 1002);
    }

    Area area() {
        String name = "a" + NEXT.getAndIncrement();
        USED.add(name);
        if (NEXT.get() > AREAS) {
            throw new IllegalStateException("raise AREAS");
        }
        return new Area(mount.path(name), layers.upper().resolve(name), layers.lower(0).resolve(name),
                layers.lower(1).resolve(name));
    }

    /** After each test, the lower areas it used must be exactly as they were (to the ctime and inode). */
    @AfterEach
    void lowerAreasUnchanged() {
        for (String name : USED) {
            for (int i = 0; i < 2; i++) {
                SortedMap<String, Tree.Node> before = i == 0 ? lower1 : lower2;
                SortedMap<String, Tree.Node> expected = new java.util.TreeMap<>();
                before.forEach((k, v) -> {
                    if (k.equals(name) || k.startsWith(name + "/")) {
                        expected.put(k, v);
                    }
                });
                SortedMap<String, Tree.Node> actual = new java.util.TreeMap<>();
                Path root = layers.lower(i);
                Tree.scan(root.resolve(name), n -> true).forEach((k, v) -> actual.put(k.equals(".") ? name
                        : name + "/" + k, v));
                Tree.assertSame("lower layer " + (i + 1) + ", " + name, expected, actual,
                        java.util.EnumSet.allOf(Tree.Field.class));
            }
        }
        USED.clear();
        MountExtension.assertLive(mount);
    }

    /** And at the end, all of both lower layers. */
    @AfterAll
    static void lowersUnchanged() {
        Tree.assertSame("lower layer 1", lower1, Tree.scan(layers.lower(0), n -> true),
                java.util.EnumSet.allOf(Tree.Field.class));
        Tree.assertSame("lower layer 2", lower2, Tree.scan(layers.lower(1), n -> true),
                java.util.EnumSet.allOf(Tree.Field.class));
    }

    private static List<String> list(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    // ---- reading ----

    @Test
    void readsTheMergedViewOfTheLowerLayers() throws Exception {
        Area a = area();
        dev.layerfs.core.nativeio.Timespec atimeBefore = Errnos.lstat(a.l2.resolve("low2")).atime();
        assertEquals(List.of("attr", "d", "empty", "exec", "low1", "low2", "only2", "owned", "secret", "shared",
                "sym", "tree"), list(a.m));
        assertEquals("from l1\n", Files.readString(a.m("shared")), "the upper lower layer wins");
        assertEquals("low1 content\n", Files.readString(a.m("low1")));
        assertEquals("low2 content\n", Files.readString(a.m("low2")));
        assertEquals(List.of("w", "x", "y"), list(a.m("d")), "directories of both lowers merge");
        assertEquals("x2\n", Files.readString(a.m("d/x")));
        assertEquals("z\n", Files.readString(a.m("only2/z")));
        assertEquals("deep\n", Files.readString(a.m("tree/a/b/c")));
        assertEquals(Path.of("low1"), Files.readSymbolicLink(a.m("sym")));
        assertEquals("low1 content\n", Files.readString(a.m("sym")), "a symlink is followed by the client");
        assertEquals("rwxr-xr-x", PosixFilePermissions.toString(Files.getPosixFilePermissions(a.m("exec"))));
        assertEquals(1234, Files.getAttribute(a.m("owned"), "unix:uid"));
        assertEquals(5678, Files.getAttribute(a.m("owned"), "unix:gid"));
        assertEquals(Fixture.OLD, Files.getLastModifiedTime(a.m("low1")));
        assertEquals(Files.size(a.l1.resolve("low1")), Files.size(a.m("low1")));
        assertEquals("blue", Xattr.get(a.m("attr"), "user.color"));
        assertTrue(Files.isDirectory(a.m("empty")));
        assertEquals(List.of(), list(a.m("empty")));
        assertFalse(Files.exists(a.up), "reading copies nothing up");
        assertFalse(Files.exists(a.m("nothing")));
        assertErrno(Errno.ENOENT, () -> Errnos.lstat(a.m("nothing")));
        assertErrno(Errno.ENOTDIR, () -> Errnos.lstat(a.m("low1/x")));
        assertEquals(atimeBefore, Errnos.lstat(a.l2.resolve("low2")).atime(),
                "lower files are read without touching their atime (O_NOATIME)");
    }

    @Test
    void largeFileReadsAndWritesAtOffsets() throws Exception {
        Area a = area();
        byte[] data = new byte[3 * 1024 * 1024 + 17];
        new java.util.Random(42).nextBytes(data);
        Path p = a.m("big");
        Files.write(p, data);
        assertArrayEquals(data, Files.readAllBytes(p));
        assertArrayEquals(data, Files.readAllBytes(a.up("big")));
        try (FileChannel ch = FileChannel.open(p, StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.wrap("PATCH".getBytes(StandardCharsets.US_ASCII)), 1_000_000);
        }
        System.arraycopy("PATCH".getBytes(StandardCharsets.US_ASCII), 0, data, 1_000_000, 5);
        assertArrayEquals(data, Files.readAllBytes(p));
        try (FileChannel ch = FileChannel.open(p, StandardOpenOption.READ)) {
            ByteBuffer b = ByteBuffer.allocate(5);
            ch.read(b, 1_000_000);
            assertEquals("PATCH", new String(b.array(), StandardCharsets.US_ASCII));
        }
    }

    // ---- writing and copy-up ----

    @Test
    void writingALowerFileCopiesItUpAndLeavesTheLowerAlone() throws Exception {
        Area a = area();
        Files.writeString(a.m("low2"), "appended\n", StandardOpenOption.APPEND);
        assertEquals("low2 content\nappended\n", Files.readString(a.m("low2")));
        assertEquals("low2 content\nappended\n", Files.readString(a.up("low2")), "the copy is in the upper layer");
        assertEquals("low2 content\n", Files.readString(a.l2.resolve("low2")));
        assertEquals("rw-r--r--", PosixFilePermissions.toString(Files.getPosixFilePermissions(a.up("low2"))));
        assertTrue(Files.isDirectory(a.up), "the parent is copied up first");
        assertEquals(List.of("low2"), list(a.up), "only what changed is copied up");

        Files.writeString(a.m("d/x"), "replaced");
        assertEquals("replaced", Files.readString(a.m("d/x")));
        assertEquals("replaced", Files.readString(a.up("d/x")));
        assertEquals(List.of("w", "x", "y"), list(a.m("d")));

        Files.writeString(a.m("tree/a/b/c"), "deeper");
        assertEquals("deeper", Files.readString(a.up("tree/a/b/c")));
        assertEquals("rwxr-x--x", PosixFilePermissions.toString(Files.getPosixFilePermissions(a.up("tree/a"))),
                "parents are copied with their mode");
        assertEquals(1001, Files.getAttribute(a.up("tree/a"), "unix:uid"));
        assertEquals(1002, Files.getAttribute(a.up("tree/a"), "unix:gid"));
        assertEquals(List.of("b", "f"), list(a.m("tree/a")));
    }

    @Test
    void anOpenWithTruncateCopiesUpEmpty() throws Exception {
        Area a = area();
        try (OutputStream out = Files.newOutputStream(a.m("shared"), StandardOpenOption.TRUNCATE_EXISTING)) {
            out.write("new".getBytes(StandardCharsets.US_ASCII));
        }
        assertEquals("new", Files.readString(a.m("shared")));
        assertEquals("new", Files.readString(a.up("shared")));
        assertEquals("from l1\n", Files.readString(a.l1.resolve("shared")));
        assertEquals("from l2\n", Files.readString(a.l2.resolve("shared")));
    }

    @Test
    void aDescriptorOpenedBeforeTheCopyUpSeesTheNewContent() throws Exception {
        Area a = area();
        try (FileChannel before = FileChannel.open(a.m("low1"), StandardOpenOption.READ)) {
            Files.writeString(a.m("low1"), "NEW");
            ByteBuffer b = ByteBuffer.allocate(64);
            int n = before.read(b, 0);
            assertEquals("NEW", new String(b.array(), 0, n, StandardCharsets.UTF_8));
            assertEquals(3, before.size());
        }
        assertEquals("low1 content\n", Files.readString(a.l1.resolve("low1")));
    }

    @Test
    void newFilesGoToTheUpperLayerOnly() throws Exception {
        Area a = area();
        Files.writeString(a.m("new"), "n1");
        Files.writeString(a.m("d/new"), "n2");
        Files.writeString(a.m("empty/new"), "n3");
        Files.writeString(a.m("only2/new"), "n4");
        assertEquals("n1", Files.readString(a.m("new")));
        assertEquals("n2", Files.readString(a.up("d/new")));
        assertEquals("n3", Files.readString(a.up("empty/new")));
        assertEquals("n4", Files.readString(a.up("only2/new")));
        assertEquals(List.of("new", "w", "x", "y"), list(a.m("d")));
        assertFalse(Files.exists(a.l1.resolve("new")));
        assertFalse(Files.exists(a.l2.resolve("only2/new")));
        assertEquals(0, Files.getAttribute(a.m("new"), "unix:uid"));
        assertThrows(java.nio.file.FileAlreadyExistsException.class, () -> Files.createFile(a.m("low1")));
        assertErrno(Errno.EEXIST, () -> Errnos.openClose(a.m("low2"), Linux.O_CREAT | Linux.O_EXCL
                | Linux.O_WRONLY, 0644));
    }

    // ---- directories ----

    @Test
    void mkdirAndRmdir() throws Exception {
        Area a = area();
        Files.createDirectory(a.m("newdir"));
        assertTrue(Files.isDirectory(a.up("newdir")));
        Files.delete(a.m("newdir"));
        assertFalse(Files.exists(a.up("newdir"), LinkOption.NOFOLLOW_LINKS), "no whiteout for an upper-only dir");

        Files.delete(a.m("empty"));
        assertFalse(Files.exists(a.m("empty")));
        assertTrue(isWhiteout(a.up("empty")), "a removed lower directory leaves a whiteout");

        assertThrows(DirectoryNotEmptyException.class, () -> Files.delete(a.m("d")));
        assertErrno(Errno.ENOTEMPTY, () -> Errnos.rmdir(a.m("d")));
        assertErrno(Errno.ENOTDIR, () -> Errnos.rmdir(a.m("low1")));
        assertErrno(Errno.EEXIST, () -> Errnos.mkdir(a.m("d"), 0755));
        assertErrno(Errno.EEXIST, () -> Errnos.mkdir(a.m("low1"), 0755));
        for (String n : List.of("w", "x", "y")) {
            Files.delete(a.m("d/" + n));
        }
        assertEquals(List.of(), list(a.m("d")));
        Files.delete(a.m("d"));
        assertTrue(isWhiteout(a.up("d")));

        Files.createDirectory(a.m("d"));
        assertEquals(List.of(), list(a.m("d")), "a directory made over a whiteout hides the lower one");
        assertEquals("y", Errnos.getxattr(a.up("d"), "trusted.overlay.opaque"));
        Files.writeString(a.m("d/fresh"), "f");
        assertEquals(List.of("fresh"), list(a.m("d")));

        Files.createDirectories(a.m("tree/a/b/c2/d2"));
        assertTrue(Files.isDirectory(a.up("tree/a/b/c2/d2")));
        assertEquals(List.of("c", "c2"), list(a.m("tree/a/b")));
    }

    @Test
    void unlink() throws Exception {
        Area a = area();
        Files.delete(a.m("low2"));
        assertFalse(Files.exists(a.m("low2"), LinkOption.NOFOLLOW_LINKS));
        assertFalse(list(a.m("")).contains("low2"));
        assertTrue(isWhiteout(a.up("low2")), "a removed lower file leaves a whiteout");
        assertTrue(Files.exists(a.l2.resolve("low2")));

        Files.delete(a.m("shared"));
        assertFalse(Files.exists(a.m("shared")), "the whiteout hides every lower layer's file");

        Files.writeString(a.m("upperonly"), "u");
        Files.delete(a.m("upperonly"));
        assertFalse(Files.exists(a.up("upperonly"), LinkOption.NOFOLLOW_LINKS), "no whiteout without a lower");

        Files.delete(a.m("sym"));
        assertTrue(Files.exists(a.m("low1")), "unlinking a symlink leaves its target");

        assertErrno(Errno.EISDIR, () -> Errnos.unlink(a.m("d")));
        assertErrno(Errno.ENOENT, () -> Errnos.unlink(a.m("missing")));
        assertErrno(Errno.ENOENT, () -> Errnos.unlink(a.m("low2")));
        assertThrows(NoSuchFileException.class, () -> Files.readString(a.m("low2")));

        Files.writeString(a.m("low2"), "again");
        assertEquals("again", Files.readString(a.m("low2")), "a name can be made again over its whiteout");
        assertTrue(Files.isRegularFile(a.up("low2"), LinkOption.NOFOLLOW_LINKS));
    }

    // ---- rename ----

    @Test
    void renameFiles() throws Exception {
        Area a = area();
        Files.move(a.m("low1"), a.m("moved"));
        assertEquals("low1 content\n", Files.readString(a.m("moved")));
        assertFalse(Files.exists(a.m("low1"), LinkOption.NOFOLLOW_LINKS));
        assertTrue(isWhiteout(a.up("low1")));
        assertEquals("low1 content\n", Files.readString(a.up("moved")));
        assertEquals(Fixture.OLD, Files.getLastModifiedTime(a.m("moved")), "a rename keeps the times");

        Files.move(a.m("low2"), a.m("shared"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        assertEquals("low2 content\n", Files.readString(a.m("shared")));
        assertFalse(Files.exists(a.m("low2")));

        Files.move(a.m("d/x"), a.m("only2/x"));
        assertEquals("x2\n", Files.readString(a.m("only2/x")));
        assertEquals(List.of("w", "y"), list(a.m("d")));

        Files.writeString(a.m("up"), "u");
        Errnos.rename(a.m("up"), a.m("up2"), 0);
        assertFalse(Files.exists(a.up("up"), LinkOption.NOFOLLOW_LINKS), "no whiteout for an upper-only name");
        assertEquals("u", Files.readString(a.up("up2")));

        Errnos.rename(a.m("exec"), a.m("exec"), 0);
        assertEquals("#!/bin/sh\necho hi\n", Files.readString(a.m("exec")), "a rename onto itself does nothing");
        assertErrno(Errno.ENOENT, () -> Errnos.rename(a.m("missing"), a.m("x"), 0));
        assertErrno(Errno.EISDIR, () -> Errnos.rename(a.m("exec"), a.m("empty"), 0));
        assertErrno(Errno.ENOTDIR, () -> Errnos.rename(a.m("empty"), a.m("exec"), 0));
    }

    @Test
    void renameDirectories() throws Exception {
        Area a = area();
        assertErrno(Errno.EXDEV, () -> Errnos.rename(a.m("d"), a.m("d2"), 0));
        assertErrno(Errno.EXDEV, () -> Errnos.rename(a.m("empty"), a.m("empty2"), 0));
        assertTrue(Files.isDirectory(a.m("d")));

        Files.createDirectories(a.m("nd/sub"));
        Files.writeString(a.m("nd/sub/f"), "f");
        Errnos.rename(a.m("nd"), a.m("nd2"), 0);
        assertEquals("f", Files.readString(a.m("nd2/sub/f")));
        assertFalse(Files.exists(a.m("nd")));
        assertErrno(Errno.EINVAL, () -> Errnos.rename(a.m("nd2"), a.m("nd2/sub/inside"), 0));

        Errnos.rename(a.m("nd2"), a.m("d/moved"), 0);
        assertEquals("f", Files.readString(a.m("d/moved/sub/f")));
        assertEquals(List.of("moved", "w", "x", "y"), list(a.m("d")));

        Files.createDirectory(a.m("full"));
        Files.writeString(a.m("full/f"), "f");
        Files.createDirectory(a.m("other"));
        assertErrno(Errno.ENOTEMPTY, () -> Errnos.rename(a.m("other"), a.m("full"), 0));
        assertErrno(Errno.ENOTEMPTY, () -> Errnos.rename(a.m("other"), a.m("d"), 0));
        Errnos.rename(a.m("full"), a.m("other"), 0);
        assertEquals(List.of("f"), list(a.m("other")));
    }

    @Test
    void renameFlagsAreNotAvailableThroughTheMount() throws Exception {
        // A documented limit of the libfuse2 transport: libfuse 2's high-level API has no rename2, so the kernel
        // answers EINVAL for any flag. (The kernel transport has them: KernelTransportTest.)
        org.junit.jupiter.api.Assumptions.assumeFalse(Transports.kernel(), "rename flags work on transport=kernel");
        Area a = area();
        assertErrno(Errno.EINVAL, () -> Errnos.rename(a.m("low1"), a.m("new"), Linux.RENAME_NOREPLACE));
        assertErrno(Errno.EINVAL, () -> Errnos.rename(a.m("low1"), a.m("low2"), Linux.RENAME_EXCHANGE));
        assertEquals("low1 content\n", Files.readString(a.m("low1")));
        assertEquals("low2 content\n", Files.readString(a.m("low2")));
        assertFalse(Files.exists(a.m("new")));
        assertFalse(Files.exists(a.up), "nothing was copied up");
        // Tools fall back to a plain rename.
        Sh.ok("mv", "-n", a.m("low1").toString(), a.m("new").toString());
        assertEquals("low1 content\n", Files.readString(a.m("new")));
    }

    // ---- links ----

    @Test
    void hardLinks() throws Exception {
        Area a = area();
        Files.createLink(a.m("hard"), a.m("low1"));
        assertEquals("low1 content\n", Files.readString(a.m("hard")));
        // The source name's attributes are those the kernel cached before the link (FUSE attr timeout): look at
        // the new name. Copied up, the file keeps its lower object's inode number (its origin record), as on the
        // kernel overlay.
        assertEquals(Files.getAttribute(a.l1.resolve("low1"), "unix:ino"), Files.getAttribute(a.m("hard"), "unix:ino"));
        assertEquals(2, Files.getAttribute(a.m("hard"), "unix:nlink"));
        Files.writeString(a.m("hard"), "through the link");
        assertEquals("through the link", Files.readString(a.m("hard")));
        assertEquals("through the link", Files.readString(a.up("low1")), "both names are one file in the upper");
        assertEquals(Files.getAttribute(a.up("low1"), "unix:ino"), Files.getAttribute(a.up("hard"), "unix:ino"));
        assertEquals("low1 content\n", Files.readString(a.l1.resolve("low1")));

        Files.createLink(a.m("only2/zlink"), a.m("d/x"));
        assertEquals("x2\n", Files.readString(a.m("only2/zlink")));

        assertErrno(Errno.EEXIST, () -> Errnos.link(a.m("low2"), a.m("shared")));
        assertErrno(Errno.EPERM, () -> Errnos.link(a.m("d"), a.m("dlink")));
        assertErrno(Errno.ENOENT, () -> Errnos.link(a.m("missing"), a.m("m2")));

        Files.delete(a.m("hard"));
        assertEquals("through the link", Files.readString(a.up("low1")));
        assertEquals(1, Files.getAttribute(a.up("low1"), "unix:nlink"));
    }

    @Test
    void hardLinkedNamesSeeEachOthersData() throws Exception {
        // The link count the kernel cached for the other name may be stale for `timeout` seconds (documented;
        // see AttributeCacheTest), the data may not.
        Area a = area();
        assertEquals("low1 content\n", Files.readString(a.m("low1")));
        Files.createLink(a.m("hard"), a.m("low1"));
        Files.writeString(a.m("hard"), "through the link");
        assertEquals("through the link", Files.readString(a.m("low1")));
        Files.writeString(a.m("low1"), "and back through the first name, longer");
        assertEquals("and back through the first name, longer", Files.readString(a.m("hard")));
    }

    @Test
    void symlinks() throws Exception {
        Area a = area();
        Files.createSymbolicLink(a.m("s1"), Path.of("low2"));
        assertEquals(Path.of("low2"), Files.readSymbolicLink(a.m("s1")));
        assertEquals("low2 content\n", Files.readString(a.m("s1")));
        assertTrue(Files.isSymbolicLink(a.up("s1")));
        assertEquals(Path.of("low2"), Files.readSymbolicLink(a.up("s1")));

        Files.createSymbolicLink(a.m("dangling"), Path.of("/does/not/exist"));
        assertEquals(Path.of("/does/not/exist"), Files.readSymbolicLink(a.m("dangling")));
        assertFalse(Files.exists(a.m("dangling")));
        assertTrue(Files.exists(a.m("dangling"), LinkOption.NOFOLLOW_LINKS));

        String longTarget = "x/".repeat(1000) + "end";
        Files.createSymbolicLink(a.m("long"), Path.of(longTarget));
        assertEquals(longTarget, Files.readSymbolicLink(a.m("long")).toString());

        assertErrno(Errno.EEXIST, () -> Errnos.symlink("t", a.m("low1")));
        assertErrno(Errno.EINVAL, () -> Errnos.sys().readlinkat(Linux.AT_FDCWD, a.m("low1").toString()));
        Files.writeString(a.m("sym"), "written through a lower symlink");
        assertEquals("written through a lower symlink", Files.readString(a.m("low1")));
        assertTrue(Files.isSymbolicLink(a.m("sym")));
    }

    // ---- attributes ----

    @Test
    void chmodChownAndUtimesCopyUpKeepingTheContent() throws Exception {
        Area a = area();
        Files.setPosixFilePermissions(a.m("low1"), PosixFilePermissions.fromString("rwx------"));
        assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(a.m("low1"))));
        assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(a.up("low1"))));
        assertEquals("low1 content\n", Files.readString(a.up("low1")));
        assertEquals(Fixture.OLD, Files.getLastModifiedTime(a.up("low1")), "chmod keeps mtime, to the ns");
        assertEquals("rw-r--r--", PosixFilePermissions.toString(Files.getPosixFilePermissions(a.l1.resolve("low1"))));

        Files.setAttribute(a.m("low2"), "unix:uid", 4321);
        Files.setAttribute(a.m("low2"), "unix:gid", 8765);
        assertEquals(4321, Files.getAttribute(a.m("low2"), "unix:uid"));
        assertEquals(8765, Files.getAttribute(a.up("low2"), "unix:gid"));
        assertEquals("low2 content\n", Files.readString(a.up("low2")));

        Sh.ok("chown", "-h", "77:88", a.m("sym").toString());
        assertEquals(77, Files.getAttribute(a.m("sym"), "unix:uid", LinkOption.NOFOLLOW_LINKS));
        assertEquals(0, Files.getAttribute(a.m("low1"), "unix:uid"), "lchown does not follow the link");
        assertEquals(Path.of("low1"), Files.readSymbolicLink(a.up("sym")));

        FileTime t = FileTime.from(java.time.Instant.ofEpochSecond(1_234_567_890L, 987_654_321L));
        Files.setLastModifiedTime(a.m("shared"), t);
        assertEquals(t, Files.getLastModifiedTime(a.m("shared")));
        assertEquals(t, Files.getLastModifiedTime(a.up("shared")));
        assertEquals("from l1\n", Files.readString(a.up("shared")));

        Files.setPosixFilePermissions(a.m("d"), PosixFilePermissions.fromString("rwx--x---"));
        assertEquals("rwx--x---", PosixFilePermissions.toString(Files.getPosixFilePermissions(a.m("d"))));
        assertEquals(List.of("w", "x", "y"), list(a.m("d")), "a copied-up directory stays merged");

        Errnos.chmod(a.m("exec"), 04755);
        assertEquals(04755, Errnos.lstat(a.m("exec")).mode() & 07777);
    }

    @Test
    void touchSetsBothTimes() throws Exception {
        Area a = area();
        Sh.ok("touch", "-d", "@1300000000.5", a.m("low2").toString());
        assertEquals(FileTime.from(java.time.Instant.ofEpochSecond(1_300_000_000L, 500_000_000L)),
                Files.getLastModifiedTime(a.m("low2")));
        assertEquals("low2 content\n", Files.readString(a.up("low2")));
        Sh.ok("touch", a.m("touched").toString());
        assertTrue(Files.exists(a.up("touched")));
    }

    @Test
    void touchWithOneTimeOnlySetsThatTimeOnly() throws Exception {
        Area a = area();
        Sh.ok("touch", "-m", "-d", "@1200000000", a.m("low1").toString());
        assertEquals(FileTime.from(java.time.Instant.ofEpochSecond(1_200_000_000L)),
                Files.getLastModifiedTime(a.m("low1")));
        Sh.ok("touch", "-a", "-d", "@1100000000", a.m("low1").toString());
        assertEquals(FileTime.from(java.time.Instant.ofEpochSecond(1_100_000_000L)),
                Files.readAttributes(a.m("low1"), java.nio.file.attribute.BasicFileAttributes.class)
                        .lastAccessTime());
        assertEquals(FileTime.from(java.time.Instant.ofEpochSecond(1_200_000_000L)),
                Files.getLastModifiedTime(a.m("low1")), "touch -a leaves mtime alone");
    }

    @Test
    void truncate() throws Exception {
        Area a = area();
        try (RandomAccessFile f = new RandomAccessFile(a.m("low1").toFile(), "rw")) {
            f.setLength(4);
        }
        assertEquals("low1", Files.readString(a.m("low1")));
        assertEquals("low1", Files.readString(a.up("low1")));
        Sh.ok("truncate", "-s", "0", a.m("low2").toString());
        assertEquals(0, Files.size(a.m("low2")));
        assertEquals(0, Files.size(a.up("low2")));
        Sh.ok("truncate", "-s", "100000", a.m("shared").toString());
        byte[] b = Files.readAllBytes(a.m("shared"));
        assertEquals(100000, b.length);
        assertEquals("from l1\n", new String(b, 0, 8, StandardCharsets.UTF_8));
        assertEquals(0, b[99_999]);
        assertEquals("low1 content\n", Files.readString(a.l1.resolve("low1")));
    }

    // ---- xattrs ----

    @Test
    void xattrsThroughTheAttrTools() throws Exception {
        Area a = area();
        assertEquals(Map.of("user.color", "blue"), Xattr.all(a.m("attr")));
        Xattr.set(a.m("attr"), "user.size", "big").assertOk();
        assertEquals(Map.of("user.color", "blue", "user.size", "big"), Xattr.all(a.m("attr")));
        assertEquals("big", Errnos.getxattr(a.up("attr"), "user.size"), "set on the copy-up");
        assertEquals("blue", Errnos.getxattr(a.up("attr"), "user.color"), "copied with the file");
        assertNull(Errnos.getxattr(a.l1.resolve("attr"), "user.size"));
        Xattr.remove(a.m("attr"), "user.color").assertOk();
        assertEquals(Map.of("user.size", "big"), Xattr.all(a.m("attr")));
        assertNotEquals(0, Xattr.remove(a.m("attr"), "user.color").exitCode(), "removing a missing xattr fails");
        assertTrue(Xattr.tryGet(a.m("attr"), "user.color").stderr().contains("No such attribute"));

        Xattr.set(a.m("d"), "user.dir", "yes").assertOk();
        assertEquals("yes", Xattr.get(a.m("d"), "user.dir"));
        assertEquals(List.of("w", "x", "y"), list(a.m("d")));

        Files.writeString(a.m("new"), "n");
        Xattr.set(a.m("new"), "user.n", "1").assertOk();
        Xattr.set(a.m("new"), "user.n", "2").assertOk();
        assertEquals("2", Xattr.get(a.m("new"), "user.n"));

        String big = "v".repeat(3000);
        Xattr.set(a.m("new"), "user.big", big).assertOk();
        assertEquals(big, Xattr.get(a.m("new"), "user.big"));
    }

    @Test
    void privateXattrsAreHiddenAndCannotBeSet() throws Exception {
        // A deliberate difference from kernels >= 6.7, which escape them: layerfs refuses with EPERM.
        Area a = area();
        Files.delete(a.m("empty"));
        Files.createDirectory(a.m("empty"));
        assertEquals("y", Errnos.getxattr(a.up("empty"), "trusted.overlay.opaque"));
        assertEquals(Map.of(), Xattr.all(a.m("empty")), "the opaque marker is not shown");
        assertTrue(Xattr.tryGet(a.m("empty"), "trusted.overlay.opaque").exitCode() != 0);

        for (String name : List.of("trusted.overlay.opaque", "trusted.overlay.foo", "user.overlay.foo")) {
            Sh.Result r = Xattr.set(a.m("low1"), name, "y");
            assertNotEquals(0, r.exitCode(), name);
            assertTrue(r.stderr().contains("Operation not permitted"), r::toString);
            assertErrno(Errno.EPERM, () -> Errnos.setxattr(a.m("low2"), name, "y"));
        }
        assertFalse(Files.exists(a.up("low1")), "a refused setxattr copies nothing up");
    }

    // ---- special files ----

    @Test
    void fifos() throws Exception {
        Area a = area();
        Sh.ok("mkfifo", "-m", "0640", a.m("fifo").toString());
        assertTrue(Files.readAttributes(a.m("fifo"), java.nio.file.attribute.BasicFileAttributes.class).isOther());
        assertEquals(Linux.S_IFIFO, Errnos.lstat(a.m("fifo")).type());
        assertEquals(0640, Errnos.lstat(a.m("fifo")).mode() & 07777);
        assertEquals(Linux.S_IFIFO, Errnos.lstat(a.up("fifo")).type());
        CompletableFuture<String> reader = CompletableFuture.supplyAsync(() -> {
            try (InputStream in = Files.newInputStream(a.m("fifo"))) {
                return new String(in.readAllBytes(), StandardCharsets.UTF_8);
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        });
        try (OutputStream out = Files.newOutputStream(a.m("fifo"))) {
            out.write("through the pipe".getBytes(StandardCharsets.UTF_8));
        }
        assertEquals("through the pipe", reader.get(30, TimeUnit.SECONDS));

        Errnos.mknod(a.m("null"), Linux.S_IFCHR | 0666, (1 << 8) | 3);
        Stat st = Errnos.lstat(a.m("null"));
        assertTrue(st.isCharDevice());
        assertEquals(1, Tree.major(st.rdev()));
        assertEquals(3, Tree.minor(st.rdev()));
        Files.delete(a.m("fifo"));
        assertFalse(Files.exists(a.up("fifo"), LinkOption.NOFOLLOW_LINKS));
    }

    @Test
    void largeMergedDirectories() throws Exception {
        USED.add("big");
        Path big = mount.path("big");
        List<String> names = list(big);
        assertEquals(3500, names.size());
        assertEquals(3500, new java.util.HashSet<>(names).size(), "each name once");
        assertEquals("l1 1500", Files.readString(big.resolve("entry-01500")));
        assertEquals("l2 1499", Files.readString(big.resolve("entry-01499")));
        for (int i = 0; i < 3500; i += 7) {
            Files.delete(big.resolve(String.format("entry-%05d", i)));
        }
        for (int i = 0; i < 300; i++) {
            Files.writeString(big.resolve(String.format("new-%05d", i)), "new");
        }
        List<String> after = list(big);
        assertEquals(3500 - 500 + 300, after.size());
        assertFalse(after.contains("entry-00000"));
        assertTrue(after.contains("entry-00001"));
        assertTrue(after.contains("new-00299"));
        try (java.nio.file.DirectoryStream<Path> ds = Files.newDirectoryStream(big)) {
            int n = 0;
            for (Path p : ds) {
                n++;
            }
            assertEquals(3300, n, "a directory stream sees the same");
        }
        assertEquals(Sh.ok("ls", "-1", big.toString()).stdout().lines().count(), 3300);
    }

    @Test
    void longNamesAndDeepPaths() throws Exception {
        Area a = area();
        String longest = "n".repeat(255);
        Files.writeString(a.m(longest), "long");
        assertEquals("long", Files.readString(a.up(longest)));
        assertErrno(Errno.ENAMETOOLONG, () -> Errnos.openClose(a.m("n".repeat(256)), Linux.O_CREAT
                | Linux.O_WRONLY, 0644));
        Path deep = a.m;
        for (int i = 0; i < 40; i++) {
            deep = deep.resolve("level-" + i + "-" + "x".repeat(60));
        }
        Files.createDirectories(deep);
        Files.writeString(deep.resolve("leaf"), "deep");
        assertEquals("deep", Files.readString(deep.resolve("leaf")));
        assertTrue(deep.toString().length() > 2500);
    }

    @Test
    void memoryMappedWritesCopyUp() throws Exception {
        Area a = area();
        try (FileChannel ch = FileChannel.open(a.m("low2"), StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            java.nio.MappedByteBuffer map = ch.map(FileChannel.MapMode.READ_WRITE, 0, 4);
            map.put(0, (byte) 'L').put(1, (byte) 'O').put(2, (byte) 'W').put(3, (byte) '2');
            map.force();
        }
        assertEquals("LOW2 content\n", Files.readString(a.m("low2")));
        assertEquals("LOW2 content\n", Files.readString(a.up("low2")));
        try (FileChannel ch = FileChannel.open(a.m("shared"), StandardOpenOption.READ)) {
            java.nio.MappedByteBuffer map = ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size());
            byte[] b = new byte[map.remaining()];
            map.get(b);
            assertEquals("from l1\n", new String(b, StandardCharsets.UTF_8));
        }
    }

    @Test
    void offsetsBeyondFourGigabytes() throws Exception {
        Area a = area();
        long far = 5L * 1024 * 1024 * 1024 + 3;
        try (FileChannel ch = FileChannel.open(a.m("low1"), StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.wrap("far".getBytes(StandardCharsets.US_ASCII)), far);
        }
        assertEquals(far + 3, Files.size(a.m("low1")));
        assertEquals(far + 3, Files.size(a.up("low1")));
        try (FileChannel ch = FileChannel.open(a.m("low1"), StandardOpenOption.READ)) {
            ByteBuffer b = ByteBuffer.allocate(3);
            ch.read(b, far);
            assertEquals("far", new String(b.array(), StandardCharsets.US_ASCII));
            ByteBuffer start = ByteBuffer.allocate(13);
            ch.read(start, 0);
            assertEquals("low1 content\n", new String(start.array(), StandardCharsets.US_ASCII));
        }
        assertTrue((long) Files.getAttribute(a.up("low1"), "unix:size") > (long) Integer.MAX_VALUE);
        Files.delete(a.m("low1"));
    }

    // ---- open files ----

    @Test
    void aFileOpenForReadingKeepsReadingAfterItIsUnlinked() throws Exception {
        Area a = area();
        Files.writeString(a.m("upper-file"), "0123456789".repeat(100));
        try (FileChannel lower = FileChannel.open(a.m("low2"), StandardOpenOption.READ);
                FileChannel upper = FileChannel.open(a.m("upper-file"), StandardOpenOption.READ)) {
            ByteBuffer b = ByteBuffer.allocate(4);
            lower.read(b);
            Files.delete(a.m("low2"));
            Files.delete(a.m("upper-file"));
            assertFalse(Files.exists(a.m("low2")));
            ByteBuffer rest = ByteBuffer.allocate(100);
            int n = lower.read(rest);
            assertEquals(" content\n", new String(rest.array(), 0, n, StandardCharsets.UTF_8));
            ByteBuffer all = ByteBuffer.allocate(2000);
            assertEquals(1000, upper.read(all, 0));
            assertEquals(1000, upper.size());
        }
        assertNoFuseHidden(a);
    }

    @Test
    void aFileOpenForWritingKeepsWorkingAfterItIsUnlinked() throws Exception {
        Area a = area();
        try (FileChannel ch = FileChannel.open(a.m("low1"), StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            Files.delete(a.m("low1"));
            ch.write(ByteBuffer.wrap("XY".getBytes(StandardCharsets.US_ASCII)), 0);
            ByteBuffer b = ByteBuffer.allocate(100);
            int n = ch.read(b, 0);
            assertEquals("XYw1 content\n", new String(b.array(), 0, n, StandardCharsets.UTF_8));
        }
        assertFalse(Files.exists(a.m("low1")));
        assertTrue(isWhiteout(a.up("low1")));
        assertNoFuseHidden(a);
    }

    @Test
    void unlinkingAnOpenFileLeavesNoFuseHiddenFile() throws Exception {
        Area a = area();
        Files.writeString(a.m("upper-file"), "u");
        try (FileChannel lower = FileChannel.open(a.m("low2"), StandardOpenOption.READ);
                FileChannel upper = FileChannel.open(a.m("upper-file"), StandardOpenOption.READ,
                        StandardOpenOption.WRITE)) {
            Files.delete(a.m("low2"));
            Files.delete(a.m("upper-file"));
            assertFalse(Files.exists(a.m("low2")));
            assertFalse(Files.exists(a.m("upper-file")));
            assertTrue(isWhiteout(a.up("low2")));
            assertFalse(Files.exists(a.up("upper-file"), LinkOption.NOFOLLOW_LINKS));
            assertNoFuseHidden(a);
            assertTrue(lower.isOpen() && upper.isOpen());
        }
        assertNoFuseHidden(a);
        Files.writeString(a.m("low2"), "recreated");
        assertEquals("recreated", Files.readString(a.m("low2")));
    }

    @Test
    void aFileOpenWhileItIsRenamedFollowsTheNewName() throws Exception {
        Area a = area();
        try (FileChannel r = FileChannel.open(a.m("low2"), StandardOpenOption.READ);
                FileChannel w = FileChannel.open(a.m("shared"), StandardOpenOption.WRITE)) {
            Files.move(a.m("low2"), a.m("renamed"));
            Files.move(a.m("shared"), a.m("renamed-shared"));
            ByteBuffer b = ByteBuffer.allocate(100);
            int n = r.read(b, 0);
            assertEquals("low2 content\n", new String(b.array(), 0, n, StandardCharsets.UTF_8));
            w.write(ByteBuffer.wrap("FROM".getBytes(StandardCharsets.US_ASCII)), 0);
        }
        assertEquals("FROM l1\n", Files.readString(a.m("renamed-shared")));
        assertEquals("low2 content\n", Files.readString(a.m("renamed")));
        assertNoFuseHidden(a);
    }

    @Test
    void anOpenFileReplacedByARenameKeepsItsContent() throws Exception {
        Area a = area();
        Files.writeString(a.m("replacement"), "replacement");
        try (FileChannel old = FileChannel.open(a.m("shared"), StandardOpenOption.READ)) {
            Files.move(a.m("replacement"), a.m("shared"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            assertEquals("replacement", Files.readString(a.m("shared")));
            ByteBuffer b = ByteBuffer.allocate(100);
            int n = old.read(b, 0);
            assertEquals("from l1\n", new String(b.array(), 0, n, StandardCharsets.UTF_8));
            assertEquals(8, old.size());
        }
        assertFalse(Files.exists(a.m("replacement")));
        assertNoFuseHidden(a);
    }

    @Test
    void anUnlinkedOpenFileAndANewFileOfTheSameName() throws Exception {
        Area a = area();
        try (FileChannel old = FileChannel.open(a.m("low2"), StandardOpenOption.READ)) {
            Files.delete(a.m("low2"));
            Files.writeString(a.m("low2"), "the new one");
            ByteBuffer b = ByteBuffer.allocate(100);
            int n = old.read(b, 0);
            assertEquals("low2 content\n", new String(b.array(), 0, n, StandardCharsets.UTF_8));
            assertEquals("the new one", Files.readString(a.m("low2")));
            assertEquals(List.of("low2"), list(a.m).stream().filter(x -> x.contains("low2")).toList());
        }
        assertEquals("the new one", Files.readString(a.up("low2")));
        assertNoFuseHidden(a);
    }

    @Test
    void theDirectoryOfAnUnlinkedOpenFileCanBeRemoved() throws Exception {
        Area a = area();
        Files.createDirectory(a.m("gone"));
        Files.writeString(a.m("gone/f"), "f");
        try (FileChannel ch = FileChannel.open(a.m("gone/f"), StandardOpenOption.READ);
                FileChannel lower = FileChannel.open(a.m("only2/z"), StandardOpenOption.READ)) {
            Files.delete(a.m("gone/f"));
            Files.delete(a.m("gone"));
            Files.delete(a.m("only2/z"));
            Files.delete(a.m("only2"));
            assertFalse(Files.exists(a.m("gone")));
            assertFalse(Files.exists(a.m("only2")));
            assertEquals(1, ch.read(ByteBuffer.allocate(10), 0));
            assertEquals(2, lower.read(ByteBuffer.allocate(10), 0));
        }
        assertFalse(Files.exists(a.up("gone"), LinkOption.NOFOLLOW_LINKS));
        assertTrue(isWhiteout(a.up("only2")));
        assertNoFuseHidden(a);
    }

    private static void assertNoFuseHidden(Area a) throws IOException {
        for (Path root : List.of(a.m, a.up)) {
            try (Stream<Path> s = Files.walk(root)) {
                List<Path> hidden = s.filter(p -> p.getFileName().toString().startsWith(".fuse_hidden")).toList();
                assertEquals(List.of(), hidden);
            }
        }
    }
}
