package dev.layerfs.core;

import static dev.layerfs.core.testing.FsAssert.assertErrno;
import static dev.layerfs.core.testing.OverlayIo.read;
import static dev.layerfs.core.testing.OverlayIo.readAll;
import static dev.layerfs.core.testing.OverlayIo.writeAt;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.layerfs.core.error.Errno;
import dev.layerfs.core.handle.OpenFile;
import dev.layerfs.core.model.OverlayConfig;
import dev.layerfs.core.model.Caller;
import dev.layerfs.core.nativeio.Linux;
import dev.layerfs.core.nativeio.StatFs;
import dev.layerfs.core.nativeio.Syscalls;
import dev.layerfs.core.nativeio.Timespec;
import dev.layerfs.core.testing.LowerLayersUnchanged;
import dev.layerfs.core.testing.OverlayFixture;
import dev.layerfs.core.testing.OverlayIo;
import dev.layerfs.core.testing.TmpfsMount;
import dev.layerfs.core.testing.TreeSnapshot;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/** Reads and writes on open files, ftruncate, fallocate, fsync and statfs. */
@ExtendWith(LowerLayersUnchanged.class)
class FileIoTest {
    @TempDir
    Path tmp;

    OverlayFixture fx;

    @BeforeEach
    void fixture() {
        fx = OverlayFixture.create(tmp);
        fx.l1().file("f", "0123456789");
    }

    @Test
    void readAtOffsets() throws Exception {
        Overlay ov = fx.open();
        OpenFile f = ov.open("f", Linux.O_RDONLY);
        byte[] buf = new byte[4];
        assertEquals(4, ov.read(f, buf, 4, 3));
        assertArrayEquals("3456".getBytes(), buf);
        assertEquals(2, ov.read(f, buf, 4, 8), "a short read at the end");
        assertEquals(0, ov.read(f, buf, 4, 10), "0 at the end");
        assertEquals(0, ov.read(f, buf, 4, 1000));
        ov.release(f);
    }

    @Test
    void writeAtOffsetsAfterCopyUp() throws Exception {
        Overlay ov = fx.open();
        OpenFile f = ov.open("f", Linux.O_RDWR);
        writeAt(ov, f, "AB", 2);
        writeAt(ov, f, "Z", 12);
        assertEquals("01AB456789\0\0Z", readAll(ov, f));
        ov.release(f);
        assertEquals("01AB456789\0\0Z", fx.upper().read("f"));
        assertEquals("0123456789", fx.l1().read("f"));
    }

    @Test
    void directBuffersAreReadAndWrittenFromTheirPosition() throws Exception {
        Overlay ov = fx.open();
        ByteBuffer buf = ByteBuffer.allocateDirect(32);
        OpenFile f = ov.open("f", Linux.O_RDWR);
        buf.position(5).put("xy".getBytes()).flip().position(5);
        assertEquals(2, ov.write(f, buf, 0));
        assertEquals(7, buf.position());
        buf.clear().position(3).limit(19);
        assertEquals(10, ov.read(f, buf, 0));
        assertEquals(13, buf.position());
        byte[] out = new byte[10];
        buf.get(3, out);
        assertArrayEquals("xy23456789".getBytes(), out);
        ov.release(f);
    }

    @Test
    void appendWritesAtTheEndWhateverTheOffset() throws Exception {
        Overlay ov = fx.open();
        OpenFile f = ov.open("f", Linux.O_WRONLY | Linux.O_APPEND);
        writeAt(ov, f, "A", 0);
        writeAt(ov, f, "B", 3);
        ov.release(f);
        assertEquals("0123456789AB", read(ov, "f"));
    }

    @Test
    void ftruncate() throws Exception {
        Overlay ov = fx.open();
        OpenFile f = ov.open("f", Linux.O_RDWR);
        ov.ftruncate(f, 3);
        assertEquals(3, ov.fstat(f).size());
        ov.ftruncate(f, 5);
        assertEquals("012\0\0", readAll(ov, f));
        ov.release(f);
    }

    @Test
    void fallocateReservesSpace() throws Exception {
        Overlay ov = fx.open();
        OpenFile f = ov.open("f", Linux.O_RDWR);
        ov.fallocate(f, 0, 0, 1 << 20);
        assertEquals(1 << 20, ov.fstat(f).size());
        assertTrue(ov.fstat(f).blocks() * 512 >= 1 << 20);
        ov.fallocate(f, 1 /* FALLOC_FL_KEEP_SIZE */, 1 << 20, 1 << 20);
        assertEquals(1 << 20, ov.fstat(f).size());
        assertErrno(Errno.EINVAL, () -> ov.fallocate(f, 0, 0, 0));
        ov.release(f);
    }

    @Test
    void fsyncAndFdatasync() throws Exception {
        Overlay ov = fx.open();
        assertTrue(ov.fsyncEnabled());
        OpenFile f = ov.open("f", Linux.O_RDWR);
        writeAt(ov, f, "s", 0);
        ov.fsync(f, false);
        ov.fsync(f, true);
        ov.release(f);
        OpenFile r = ov.open("f", Linux.O_RDONLY);
        ov.fsync(r, false);
        ov.release(r);
        assertEquals("s123456789", fx.upper().read("f"));
    }

    @Test
    void fsyncOffSkipsTheCall() throws Exception {
        Overlay ov = fx.open(fx.writableConfig().withFsync(false));
        assertFalse(ov.fsyncEnabled());
        OpenFile f = ov.open("f", Linux.O_RDWR);
        ov.fsync(f, false);
        ov.release(f);
        ov.release(f);
        assertErrno(Errno.EBADF, () -> Syscalls.get().fsync(f.fd(), false));
    }

    @Test
    void statfsIsTheUpperFilesystems() throws Exception {
        Overlay ov = fx.open();
        StatFs st = ov.statfs();
        StatFs real = realStatFs(fx.upper().root());
        assertEquals(real.fsid(), st.fsid());
        assertEquals(real.bsize(), st.bsize());
        assertEquals(real.namemax(), st.namemax());
        assertEquals(0, st.flag() & 1, "a writable overlay is not ST_RDONLY");
    }

    @Test
    void statfsFollowsTheUpperOrTheTopLowerAcrossFilesystems() throws Exception {
        try (TmpfsMount up = TmpfsMount.mountOrSkip(tmp.resolve("upfs"));
                TmpfsMount low = TmpfsMount.mountOrSkip(tmp.resolve("lowfs"))) {
            Path upperDir = Files.createDirectories(up.dir().resolve("upper"));
            Path workDir = Files.createDirectories(up.dir().resolve("work"));
            Path topLower = Files.createDirectories(low.dir().resolve("l"));
            Files.writeString(topLower.resolve("onTmpfs"), "t");
            // The tmpfs layer is gone (unmounted) when LowerLayersUnchanged looks after the test: check it here.
            TreeSnapshot before = TreeSnapshot.of(topLower);
            LowerLayersUnchanged.watch(fx.l1().root());
            StatFs upperFs = realStatFs(upperDir);
            StatFs lowerFs = realStatFs(topLower);
            StatFs ext4 = realStatFs(fx.l1().root());
            try (Overlay rw = Overlay.open(OverlayConfig.writable(List.of(topLower, fx.l1().root()), upperDir,
                    workDir))) {
                assertEquals(upperFs.fsid(), rw.statfs().fsid());
                assertEquals(upperFs.blocks(), rw.statfs().blocks());
                // Layers on two filesystems: inode numbers carry the filesystem in their top bits.
                long a = rw.getattr("onTmpfs").ino();
                long b = rw.getattr("f").ino();
                assertFalse(a >>> 56 == b >>> 56, "inode numbers of different filesystems are told apart");
                OverlayIo.create(rw, "new", "n");
                assertEquals(rw.getattr("new").ino(), rw.readdir("/").stream()
                        .filter(e -> e.name().toString().equals("new")).findFirst().orElseThrow().ino());
                rw.chmod("onTmpfs", 0600);
                assertEquals("t", read(rw, "onTmpfs"), "copied up across filesystems");
            }
            try (Overlay ro = Overlay.open(OverlayConfig.readOnly(List.of(topLower, fx.l1().root())))) {
                assertEquals(lowerFs.fsid(), ro.statfs().fsid());
                assertEquals(lowerFs.blocks(), ro.statfs().blocks());
            }
            try (Overlay ro = Overlay.open(OverlayConfig.readOnly(List.of(fx.l1().root(), topLower)))) {
                assertEquals(ext4.fsid(), ro.statfs().fsid());
            }
            assertEquals(List.of(), before.diff(TreeSnapshot.of(topLower)), "the tmpfs lower layer changed");
        }
    }

    @Test
    void seekDataAndHoleFollowTheRealFile() throws Exception {
        Overlay ov = fx.open();
        OpenFile f = ov.open("sparse", Linux.O_RDWR | Linux.O_CREAT, 0644, Caller.ROOT);
        ov.ftruncate(f, 4 << 20);
        writeAt(ov, f, "data", 1 << 20);
        ov.fsync(f, false);
        assertEquals(1 << 20, ov.lseek(f, 0, Linux.SEEK_DATA));
        assertEquals((1 << 20) + 4096, ov.lseek(f, 1 << 20, Linux.SEEK_HOLE));
        assertEquals(-1, ov.lseek(f, (1 << 20) + 4096, Linux.SEEK_DATA), "no data after it: ENXIO");
        ov.release(f);
    }

    @Test
    void copyFileRangeCopiesFromALowerFileIntoAnUpperOne() throws Exception {
        Overlay ov = fx.open();
        OpenFile src = ov.open("f", Linux.O_RDONLY);
        OpenFile dst = ov.open("g", Linux.O_RDWR | Linux.O_CREAT, 0644, Caller.ROOT);
        assertEquals(6, ov.copyFileRange(src, 4, dst, 1, 100), "short at the source's end");
        assertEquals("\0" + "456789", readAll(ov, dst));
        assertErrno(Errno.EBADF, () -> ov.copyFileRange(dst, 0, src, 0, 1));
        OpenFile writeOnly = ov.open("g", Linux.O_WRONLY);
        assertErrno(Errno.EBADF, () -> ov.copyFileRange(writeOnly, 0, dst, 0, 1), "the source must be readable");
        ov.release(writeOnly);
        ov.release(src);
        ov.release(dst);
        assertEquals("0123456789", fx.l1().read("f"));
    }

    @Test
    void copyFileRangeOnOneFilesystemCopiesAtMost8MiBPerCall() throws Exception {
        byte[] data = new byte[(17 << 20) + 7];
        for (int i = 0; i < data.length; i++) {
            data[i] = (byte) (i * 13 + i / 4096);
        }
        fx.l1().file("big", data);
        Overlay ov = fx.open();
        OpenFile src = ov.open("big", Linux.O_RDONLY);
        OpenFile dst = ov.open("copy", Linux.O_RDWR | Linux.O_CREAT, 0644, Caller.ROOT);
        List<Long> calls = new ArrayList<>();
        long copied = 0;
        while (copied < data.length) {
            long n = ov.copyFileRange(src, copied, dst, copied, data.length - copied);
            assertTrue(n > 0, "progress");
            calls.add(n);
            copied += n;
        }
        assertEquals(List.of(8L << 20, 8L << 20, (1L << 20) + 7), calls, "8 MiB a call, the rest last");
        ov.release(src);
        ov.release(dst);
        assertArrayEquals(data, Files.readAllBytes(fx.upper().root().resolve("copy")));
    }

    @Test
    void copyFileRangeAcrossFilesystemsCopiesThroughABuffer() throws Exception {
        try (TmpfsMount low = TmpfsMount.mountOrSkip(tmp.resolve("lowfs"))) {
            Path lower = Files.createDirectories(low.dir().resolve("l"));
            byte[] data = new byte[3 << 20];
            for (int i = 0; i < data.length; i++) {
                data[i] = (byte) (i * 31 + i / 4096);
            }
            Files.write(lower.resolve("big"), data);
            LowerLayersUnchanged.watch(fx.l1().root());
            try (Overlay ov = Overlay.open(OverlayConfig.writable(List.of(lower), fx.upper().root(),
                    fx.workDir()))) {
                OpenFile src = ov.open("big", Linux.O_RDONLY);
                OpenFile dst = ov.open("copy", Linux.O_RDWR | Linux.O_CREAT, 0644, Caller.ROOT);
                long first = ov.copyFileRange(src, 5, dst, 0, data.length);
                assertEquals(1 << 20, first, "one chunk per call: the caller asks again for the rest");
                long copied = first;
                while (copied < data.length - 5) {
                    long n = ov.copyFileRange(src, 5 + copied, dst, copied, data.length - copied);
                    assertTrue(n > 0 && n <= 1 << 20, "a chunk at most");
                    copied += n;
                }
                assertEquals(data.length - 5, copied);
                assertEquals(0, ov.copyFileRange(src, data.length, dst, copied, 10), "nothing at the source's end");
                ov.release(src);
                ov.release(dst);
            }
            byte[] copy = Files.readAllBytes(fx.upper().root().resolve("copy"));
            assertArrayEquals(java.util.Arrays.copyOfRange(data, 5, data.length), copy);
            assertArrayEquals(data, Files.readAllBytes(lower.resolve("big")));
        }
    }

    @Test
    void attributesChangeThroughAnUpperDescriptorAndNeverThroughALowerOne() throws Exception {
        fx.l1().file("g", "lower");
        Overlay ov = fx.open();
        OpenFile rw = ov.open("f", Linux.O_RDWR);
        ov.unlink("f");
        ov.fchmod(rw, 0640);
        ov.futimens(rw, new Timespec(1, 2), new Timespec(3, 4));
        assertEquals(0640, ov.fstat(rw).mode() & 07777);
        assertEquals(3, ov.fstat(rw).mtime().sec());
        ov.release(rw);

        OpenFile ro = ov.open("g", Linux.O_RDONLY);
        assertErrno(Errno.EEXIST, () -> ov.fchmod(ro, 0600));
        ov.release(ro);
        assertEquals("lower", fx.l1().read("g"));
    }

    private static StatFs realStatFs(Path dir) throws Exception {
        Syscalls sys = Syscalls.get();
        int fd = sys.openat(Linux.AT_FDCWD, dir.toString(), Linux.O_RDONLY | Linux.O_DIRECTORY, 0);
        try {
            return sys.fstatvfs(fd);
        } finally {
            sys.close(fd);
        }
    }

    @Test
    void openCreateReturnsAWritableHandle() throws Exception {
        Overlay ov = fx.open();
        OpenFile f = ov.open("new", Linux.O_RDWR | Linux.O_CREAT | Linux.O_EXCL, 0600, Caller.ROOT);
        writeAt(ov, f, "hello", 0);
        assertEquals("hello", readAll(ov, f));
        ov.release(f);
        assertEquals("hello", fx.upper().read("new"));
    }
}
