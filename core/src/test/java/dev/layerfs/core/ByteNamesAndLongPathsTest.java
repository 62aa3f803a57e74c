package dev.layerfs.core;

import static dev.layerfs.core.testing.FsAssert.assertErrno;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.layerfs.core.bytes.ByteString;
import dev.layerfs.core.error.Errno;
import dev.layerfs.core.handle.OpenFile;
import dev.layerfs.core.model.Caller;
import dev.layerfs.core.nativeio.Linux;
import dev.layerfs.core.nativeio.Stat;
import dev.layerfs.core.nativeio.Syscalls;
import dev.layerfs.core.readdir.DirEntry;
import dev.layerfs.core.testing.LowerLayersUnchanged;
import dev.layerfs.core.testing.OverlayFixture;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * A name is bytes and a path may be as long as the kernel allows: names that are not UTF-8 stay distinct
 * through every operation, whiteout and listing; paths of any length (the engine's own can pass PATH_MAX, as a
 * FUSE path from a deep working directory does) reach the layers; O_DIRECT files read and write whatever the
 * buffer's alignment.
 */
@ExtendWith(LowerLayersUnchanged.class)
class ByteNamesAndLongPathsTest {
    private static final Syscalls SYS = Syscalls.get();

    @TempDir
    Path tmp;
    OverlayFixture fx;

    @BeforeEach
    void setUp() {
        fx = OverlayFixture.create(tmp);
    }

    private static ByteString bytes(int... values) {
        byte[] b = new byte[values.length];
        for (int i = 0; i < values.length; i++) {
            b[i] = (byte) values[i];
        }
        return ByteString.of(b);
    }

    private static ByteString repeat(int value, int count) {
        byte[] b = new byte[count];
        java.util.Arrays.fill(b, (byte) value);
        return ByteString.of(b);
    }

    private static ByteString path(ByteString... parts) {
        return ByteString.trusted(java.util.Arrays.stream(parts).map(ByteString::latin1).collect(Collectors.joining("/")));
    }

    /** Makes a file in a layer directory by its bytes (java.nio cannot name such files). */
    private static void layerFile(Path layer, ByteString name) throws Exception {
        SYS.close(SYS.openat(Linux.AT_FDCWD, ByteString.ofPath(layer).latin1() + "/" + name.latin1(),
                Linux.O_CREAT | Linux.O_WRONLY, 0644));
    }

    private static Set<ByteString> names(Overlay ov, ByteString dir) throws Exception {
        return ov.readdir(dir).stream().map(DirEntry::name).collect(Collectors.toSet());
    }

    @Test
    void namesThatAreNotUtf8StayDistinct() throws Exception {
        ByteString x80 = bytes(0x80);
        ByteString xff = bytes(0xff);
        ByteString lower = bytes('l', 0xe9);
        layerFile(fx.l1().root(), lower);
        try (Overlay ov = fx.open()) {
            ov.release(ov.open(x80, Linux.O_CREAT | Linux.O_EXCL | Linux.O_WRONLY, 0644, Caller.ROOT));
            ov.release(ov.open(xff, Linux.O_CREAT | Linux.O_EXCL | Linux.O_WRONLY, 0644, Caller.ROOT));
            ov.mkdir(bytes(0xc3), 0755, Caller.ROOT);
            ov.symlink(bytes(0xfe, '/', 0x80), bytes('s', 0xfe), Caller.ROOT);
            assertEquals(Set.of(x80, xff, lower, bytes(0xc3), bytes('s', 0xfe)), names(ov, ByteString.EMPTY));
            assertEquals(bytes(0xfe, '/', 0x80), ov.readlink(bytes('s', 0xfe)));
            ov.setxattr(xff, bytes('u', 's', 'e', 'r', '.', 0x80), new byte[] {(byte) 0xff}, 0);
            assertEquals(List.of(bytes('u', 's', 'e', 'r', '.', 0x80)), ov.listxattr(xff));
            ov.rename(x80, path(bytes(0xc3), bytes(0x81)), 0);
            ov.unlink(lower);
            assertEquals(Set.of(xff, bytes(0xc3), bytes('s', 0xfe)), names(ov, ByteString.EMPTY));
            assertEquals(Set.of(bytes(0x81)), names(ov, bytes(0xc3)));
            assertErrno(Errno.ENOENT, () -> ov.getattr(lower));
        }
        Stat wh = SYS.lstat(Linux.AT_FDCWD, ByteString.ofPath(fx.upper().root()).latin1() + "/" + lower.latin1());
        assertTrue(wh.isCharDevice() && wh.rdev() == 0, "the whiteout carries the name's bytes");
    }

    @Test
    void namesOfNameMaxBytesAndTheWhiteoutFileLimit() throws Exception {
        ByteString longest = repeat(0xff, 255);
        ByteString whFits = repeat(0xfe, 251);
        ByteString whTooLong = repeat(0xfd, 252);
        layerFile(fx.l1().root(), longest);
        layerFile(fx.l1().root(), whFits);
        layerFile(fx.l1().root(), whTooLong);
        try (Overlay ov = fx.open()) {
            assertEquals(Set.of(longest, whFits, whTooLong), names(ov, ByteString.EMPTY));
            ov.chmod(longest, 0600);
            ov.unlink(whFits);
            ov.unlink(whTooLong);
            assertEquals(Set.of(longest), names(ov, ByteString.EMPTY));
            assertErrno(Errno.ENAMETOOLONG, () -> ov.mkdir(repeat('a', 256), 0755, Caller.ROOT));
        }
    }

    @Test
    void pathsLongerThanPathMaxReachTheLayers() throws Exception {
        ByteString component = repeat(0xe0, 200);
        StringBuilder p = new StringBuilder();
        try (Overlay ov = fx.open()) {
            // 30 levels of 201 bytes: 6,030 bytes, as a FUSE path is when a client works deep inside the mount.
            for (int i = 0; i < 30; i++) {
                p.append(i == 0 ? "" : "/").append(component.latin1());
                ov.mkdir(ByteString.trusted(p.toString()), 0755, Caller.ROOT);
            }
            assertTrue(p.length() > 4096);
            ByteString f = ByteString.trusted(p + "/" + bytes(0x80).latin1());
            OpenFile out = ov.open(f, Linux.O_CREAT | Linux.O_WRONLY, 0644, Caller.ROOT);
            ov.write(out, "deep".getBytes(), 4, 0);
            ov.release(out);
            ov.setxattr(f, ByteString.utf8("user.deep"), new byte[] {1}, 0);
            assertArrayEquals(new byte[] {1}, ov.getxattr(f, ByteString.utf8("user.deep")));
            ByteString g = ByteString.trusted(p + "/g");
            ov.link(f, g);
            ov.rename(g, ByteString.trusted(p + "/h"), 0);
            ov.symlink(bytes(0x80), ByteString.trusted(p + "/s"), Caller.ROOT);
            ov.mknod(ByteString.trusted(p + "/fifo"), Linux.S_IFIFO | 0644, 0, Caller.ROOT);
            ov.chmod(f, 0600);
            ov.chown(f, 7, 8);
            ov.truncate(f, 2);
            assertEquals(2, ov.getattr(f).size());
            assertEquals(2, ov.getattr(ByteString.trusted(p + "/h")).nlink());
            assertEquals(Set.of(bytes(0x80), ByteString.utf8("h"), ByteString.utf8("s"), ByteString.utf8("fifo")),
                    names(ov, ByteString.trusted(p.toString())));
            ov.unlink(ByteString.trusted(p + "/h"));
            ov.unlink(ByteString.trusted(p + "/s"));
            ov.unlink(ByteString.trusted(p + "/fifo"));
            ov.unlink(f);
            // Deeper than java.nio can delete: the test takes its tree down itself.
            while (p.length() > 0) {
                ov.rmdir(ByteString.trusted(p.toString()));
                p.setLength(Math.max(0, p.lastIndexOf("/")));
            }
        }
    }

    @Test
    void aDeepLowerTreeIsCopiedUpAndWhitedOut() throws Exception {
        // 4,015 bytes below the layer root: each object's xattrs (through /proc/self/fd/N/...) and whiteout file
        // names take more than one system call can carry.
        String component = "d".repeat(250);
        String p = String.join("/", java.util.Collections.nCopies(16, component));
        fx.l1().file(p + "/f", "lower");
        fx.l1().file(p + "/gone", "lower");
        try (Overlay ov = fx.open()) {
            ov.chmod(p + "/f", 0600);
            ov.unlink(p + "/gone");
            assertEquals(0600, ov.getattr(p + "/f").permissions());
            assertEquals(List.of("f"), ov.readdir(p).stream().map(e -> e.name().toString()).toList());
        }
        assertEquals(0600, fx.upper().stat(p + "/f").permissions());
    }

    @Test
    void directIoWorksWhateverTheBufferAlignment() throws Exception {
        fx.l1().file("f", new byte[16384]);
        try (Overlay ov = fx.open()) {
            OpenFile f = ov.open(ByteString.utf8("f"), Linux.O_RDWR | Linux.O_DIRECT, 0, Caller.ROOT);
            ByteBuffer aligned = ByteBuffer.allocateDirect(8192 + 4096).alignedSlice(4096).limit(8192);
            ByteBuffer unaligned = ByteBuffer.allocateDirect(8192 + 1).position(1);
            byte[] data = new byte[8192];
            java.util.Arrays.fill(data, (byte) 'x');
            unaligned.put(data).position(1);
            assertEquals(8192, ov.write(f, unaligned, 4096));
            aligned.clear().limit(8192);
            assertEquals(8192, ov.read(f, aligned, 4096));
            byte[] back = new byte[8192];
            aligned.flip().get(back);
            assertArrayEquals(data, back);
            ByteBuffer heap = ByteBuffer.allocate(4096);
            assertEquals(4096, ov.read(f, heap, 4096), "a heap buffer goes through the aligned one too");
            assertErrno(Errno.EINVAL, () -> ov.write(f, ByteBuffer.allocateDirect(100), 0),
                    "an unaligned length: the real file's answer, as through the kernel overlay");
            ov.release(f);
        }
    }
}
