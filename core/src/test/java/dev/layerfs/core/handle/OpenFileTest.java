package dev.layerfs.core.handle;

import static dev.layerfs.core.testing.FsAssert.assertErrno;
import static dev.layerfs.core.testing.OverlayIo.readAll;
import static dev.layerfs.core.testing.OverlayIo.writeAt;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.layerfs.core.Overlay;
import dev.layerfs.core.error.Errno;
import dev.layerfs.core.model.Caller;
import dev.layerfs.core.nativeio.Linux;
import dev.layerfs.core.testing.LowerLayersUnchanged;
import dev.layerfs.core.testing.OverlayFixture;
import dev.layerfs.core.testing.OverlayIo;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/** Open handles: where they read from, and how they follow a copy-up made through another handle. */
@ExtendWith(LowerLayersUnchanged.class)
class OpenFileTest {
    @TempDir
    Path tmp;

    OverlayFixture fx;

    @BeforeEach
    void fixture() {
        fx = OverlayFixture.create(tmp);
        fx.l1().file("f", "old content");
    }

    @Test
    void aReadOnlyHandleOnTheLowerFileSeesDataWrittenAfterACopyUp() throws Exception {
        Overlay ov = fx.open();
        OpenFile reader = ov.open("f", Linux.O_RDONLY);
        assertFalse(reader.onUpper());
        assertEquals("old content", readAll(ov, reader));

        OpenFile writer = ov.open("f", Linux.O_WRONLY | Linux.O_TRUNC);
        assertTrue(writer.onUpper());
        writeAt(ov, writer, "NEW", 0);

        assertTrue(reader.onUpper(), "the lower handle moved to the upper copy");
        assertEquals("NEW", readAll(ov, reader));
        assertEquals(3, ov.fstat(reader).size());
        ov.release(writer);
        ov.release(reader);
        assertEquals("old content", fx.l1().read("f"));
    }

    @Test
    void everyReadOnlyHandleMoves() throws Exception {
        Overlay ov = fx.open();
        OpenFile a = ov.open("f", Linux.O_RDONLY);
        OpenFile b = ov.open("f", Linux.O_RDONLY);
        ov.chmod("f", 0600);
        OverlayIo.write(ov, "f", "after");
        assertEquals("after", readAll(ov, a));
        assertEquals("after", readAll(ov, b));
        ov.release(a);
        ov.release(b);
    }

    @Test
    void aHandleOfAnotherPathDoesNotMove() throws Exception {
        fx.l1().file("g", "other");
        Overlay ov = fx.open();
        OpenFile g = ov.open("g", Linux.O_RDONLY);
        OverlayIo.write(ov, "f", "x");
        assertFalse(g.onUpper());
        assertEquals("other", readAll(ov, g));
        ov.release(g);
    }

    @Test
    void aHandleKeepsReadingAFileUnlinkedUnderIt() throws Exception {
        Overlay ov = fx.open();
        OpenFile f = ov.open("f", Linux.O_RDONLY);
        ov.unlink("f");
        assertEquals("old content", readAll(ov, f));
        OverlayIo.create(ov, "f", "replacement");
        assertEquals("old content", readAll(ov, f), "the handle is not moved to a new file of the same name");
        ov.release(f);
    }

    @Test
    void readOnlyOpenStaysOnTheLowerLayer() throws Exception {
        Overlay ov = fx.open();
        OpenFile f = ov.open("f", Linux.O_RDONLY);
        assertFalse(f.onUpper());
        assertEquals("f", f.path());
        assertEquals(Linux.O_RDONLY, f.flags());
        ov.release(f);
        assertFalse(fx.upper().exists("f"));
    }

    @Test
    void writeOpensCopyUp() throws Exception {
        Overlay ov = fx.open();
        for (int flags : new int[] {Linux.O_WRONLY, Linux.O_RDWR}) {
            OpenFile f = ov.open("f", flags);
            assertTrue(f.onUpper());
            ov.release(f);
        }
        assertEquals("old content", fx.upper().read("f"));
    }

    @Test
    void appendAppends() throws Exception {
        Overlay ov = fx.open();
        OpenFile f = ov.open("f", Linux.O_WRONLY | Linux.O_APPEND);
        writeAt(ov, f, "+more", 0);
        ov.release(f);
        assertEquals("old content+more", OverlayIo.read(ov, "f"));
    }

    @Test
    void createExclusiveOnAnExistingNameIsEexist() throws Exception {
        Overlay ov = fx.open();
        assertErrno(Errno.EEXIST, () -> ov.open("f", Linux.O_WRONLY | Linux.O_CREAT | Linux.O_EXCL, 0644,
                Caller.ROOT));
        assertFalse(fx.upper().exists("f"), "a refused create copies nothing up");
    }

    @Test
    void createWithoutExclusiveOpensTheExistingFile() throws Exception {
        Overlay ov = fx.open();
        OpenFile f = ov.open("f", Linux.O_RDWR | Linux.O_CREAT, 0600, Caller.ROOT);
        assertEquals("old content", readAll(ov, f));
        ov.release(f);
        assertEquals(Linux.S_IFREG | 0644, ov.getattr("f").mode(), "the mode of an existing file is kept");
    }

    @Test
    void createWithTruncEmptiesTheExistingFile() throws Exception {
        Overlay ov = fx.open();
        ov.release(ov.open("f", Linux.O_WRONLY | Linux.O_CREAT | Linux.O_TRUNC, 0644, Caller.ROOT));
        assertEquals(0, ov.getattr("f").size());
    }

    @Test
    void openErrors() throws Exception {
        fx.l1().dir("d");
        fx.l1().symlink("ln", "f");
        Overlay ov = fx.open();
        assertErrno(Errno.ENOENT, () -> ov.open("missing", Linux.O_RDONLY));
        assertErrno(Errno.ENOENT, () -> ov.open("nodir/x", Linux.O_WRONLY | Linux.O_CREAT, 0644, Caller.ROOT));
        assertErrno(Errno.EISDIR, () -> ov.open("d", Linux.O_WRONLY));
        assertErrno(Errno.EISDIR, () -> ov.open("d", Linux.O_RDWR));
        assertErrno(Errno.ELOOP, () -> ov.open("ln", Linux.O_RDONLY));
        assertErrno(Errno.ENOTDIR, () -> ov.open("f/x", Linux.O_RDONLY));
        assertFalse(fx.upper().exists("d"));
    }

    @Test
    void aDirectoryOpensReadOnly() throws Exception {
        fx.l1().dir("d");
        Overlay ov = fx.open();
        OpenFile d = ov.open("d", Linux.O_RDONLY | Linux.O_DIRECTORY);
        assertTrue(d.fd() >= 0);
        ov.release(d);
    }

    @Test
    void writingThroughAReadOnlyHandleFails() throws Exception {
        Overlay ov = fx.open();
        OpenFile f = ov.open("f", Linux.O_RDONLY);
        assertErrno(Errno.EBADF, () -> ov.write(f, new byte[] {1}, 1, 0));
        assertErrno(Errno.EBADF, () -> ov.ftruncate(f, 0));
        assertErrno(Errno.EBADF, () -> ov.fallocate(f, 0, 0, 10));
        ov.release(f);
        assertEquals("old content", OverlayIo.read(ov, "f"));
    }

    @Test
    void openWithTruncByAnUnprivilegedCallerClearsSetuidAndGroupExecutableSetgid() throws Exception {
        fx.l1().file("suid", "data").mode(06755).owner(1000, 1000);
        fx.l1().file("sgid-no-x", "data").mode(02644).owner(1000, 1000);
        Overlay ov = fx.open();
        ov.release(ov.open("suid", Linux.O_WRONLY | Linux.O_TRUNC, 0, new Caller(1000, 1000)));
        assertEquals(0755, ov.getattr("suid").mode() & 07777, "kernel do_truncate: ATTR_KILL_SUID | ATTR_KILL_SGID");
        assertEquals(0, ov.getattr("suid").size());
        ov.release(ov.open("sgid-no-x", Linux.O_WRONLY | Linux.O_TRUNC, 0, new Caller(1000, 1000)));
        assertEquals(02644, ov.getattr("sgid-no-x").mode() & 07777, "setgid without group execute is mandatory locking");
    }

    @Test
    void openWithTruncByRootKeepsSetuid() throws Exception {
        fx.l1().file("suid", "data").mode(04755);
        Overlay ov = fx.open();
        ov.release(ov.open("suid", Linux.O_WRONLY | Linux.O_TRUNC, 0, Caller.ROOT));
        assertEquals(04755, ov.getattr("suid").mode() & 07777, "root has CAP_FSETID");
        ov.release(ov.open("suid", Linux.O_WRONLY, 0, new Caller(1000, 1000)));
        assertEquals(04755, ov.getattr("suid").mode() & 07777, "no O_TRUNC, nothing cleared at open");
    }
}
