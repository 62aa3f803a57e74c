package dev.layerfs.core;

import static dev.layerfs.core.testing.FsAssert.assertErrno;
import static dev.layerfs.core.testing.OverlayIo.names;
import static dev.layerfs.core.testing.OverlayIo.read;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.layerfs.core.error.Errno;
import dev.layerfs.core.handle.OpenFile;
import dev.layerfs.core.model.Caller;
import dev.layerfs.core.nativeio.Linux;
import dev.layerfs.core.nativeio.StatFs;
import dev.layerfs.core.nativeio.Syscalls;
import dev.layerfs.core.nativeio.Timespec;
import dev.layerfs.core.testing.FsAssert.FsCall;
import dev.layerfs.core.testing.LowerLayersUnchanged;
import dev.layerfs.core.testing.OverlayFixture;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** A stack without an upper layer: everything reads, every change is EROFS. */
@ExtendWith(LowerLayersUnchanged.class)
class ReadOnlyOverlayTest {
    static final long ST_RDONLY = 1;

    @TempDir
    Path tmp;

    OverlayFixture fx;
    Overlay ov;

    @BeforeEach
    void fixture() {
        fx = OverlayFixture.create(tmp);
        fx.l1().file("f", "top").xattr("user.a", "1");
        fx.l1().dir("d");
        fx.l2().file("d/low", "low");
        fx.l2().file("f", "hidden");
        fx.l1().symlink("ln", "f");
        ov = fx.openReadOnly();
    }

    @FunctionalInterface
    interface RoCall {
        void run(Overlay ov) throws Exception;
    }

    static Stream<Arguments> writes() {
        Map<String, RoCall> ops = new java.util.LinkedHashMap<>();
        ops.put("create", ov -> ov.open("new", Linux.O_WRONLY | Linux.O_CREAT, 0644, Caller.ROOT));
        ops.put("open O_WRONLY", ov -> ov.open("f", Linux.O_WRONLY));
        ops.put("open O_RDWR", ov -> ov.open("f", Linux.O_RDWR));
        ops.put("open O_TRUNC", ov -> ov.open("f", Linux.O_RDONLY | Linux.O_TRUNC));
        ops.put("chmod", ov -> ov.chmod("f", 0600));
        ops.put("chown", ov -> ov.chown("f", 1, 1));
        ops.put("utimens", ov -> ov.utimens("f", Timespec.NOW, Timespec.NOW));
        ops.put("truncate", ov -> ov.truncate("f", 0));
        ops.put("unlink", ov -> ov.unlink("f"));
        ops.put("mkdir", ov -> ov.mkdir("nd", 0755, Caller.ROOT));
        ops.put("rmdir", ov -> ov.rmdir("d"));
        ops.put("rename", ov -> ov.rename("f", "g", 0));
        ops.put("setxattr", ov -> ov.setxattr("f", "user.x", new byte[] {1}, 0));
        ops.put("removexattr", ov -> ov.removexattr("f", "user.a"));
        ops.put("link", ov -> ov.link("f", "f2"));
        ops.put("symlink", ov -> ov.symlink("f", "s", Caller.ROOT));
        ops.put("mknod", ov -> ov.mknod("p", Linux.S_IFIFO | 0644, 0, Caller.ROOT));
        ops.put("access W_OK", ov -> ov.access("f", Linux.W_OK, Caller.ROOT));
        return ops.entrySet().stream().map(e -> Arguments.of(e.getKey(), e.getValue()));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("writes")
    void everyChangeIsErofs(String what, RoCall call) {
        FsCall c = () -> call.run(ov);
        assertErrno(Errno.EROFS, c, what);
    }

    @Test
    void readsWork() throws Exception {
        assertTrue(ov.readOnly());
        assertEquals("top", read(ov, "f"));
        assertEquals(List.of("low"), names(ov, "d"));
        assertEquals(List.of("d", "f", "ln"), names(ov, "/"));
        assertEquals("f", ov.readlink("ln"));
        assertEquals(List.of("user.a"), ov.listxattr("f"));
        assertEquals(1, ov.getattr("/").nlink());
        assertEquals(1, ov.getattr("d").nlink());
        ov.access("f", Linux.R_OK, Caller.ROOT);
    }

    @Test
    void openOfAnExistingFileWithOCreatReadOnlyWorks() throws Exception {
        OpenFile f = ov.open("f", Linux.O_RDONLY | Linux.O_CREAT, 0644, Caller.ROOT);
        assertEquals("top", dev.layerfs.core.testing.OverlayIo.readAll(ov, f));
        ov.release(f);
        assertErrno(Errno.EEXIST, () -> ov.open("f", Linux.O_RDONLY | Linux.O_CREAT | Linux.O_EXCL, 0644,
                Caller.ROOT));
    }

    @Test
    void statfsIsTheTopLowerLayersFilesystem() throws Exception {
        Syscalls sys = Syscalls.get();
        int fd = sys.openat(Linux.AT_FDCWD, fx.l1().root().toString(), Linux.O_RDONLY | Linux.O_DIRECTORY, 0);
        try {
            StatFs real = sys.fstatvfs(fd);
            StatFs st = ov.statfs();
            assertEquals(real.fsid(), st.fsid());
            assertEquals(real.bsize(), st.bsize());
            assertEquals(real.namemax(), st.namemax());
            assertEquals(0, real.flag() & ST_RDONLY, "the lower filesystem itself is writable");
            assertEquals(ST_RDONLY, st.flag() & ST_RDONLY, "a read-only overlay says so (the kernel: 0x1021)");
        } finally {
            sys.close(fd);
        }
    }

    @Test
    void nothingIsWrittenAnywhere() throws Exception {
        for (var args : writes().toList()) {
            try {
                ((RoCall) args.get()[1]).run(ov);
            } catch (dev.layerfs.core.error.FsException expected) {
                // checked above
            }
        }
        assertEquals(List.of(), fx.upper().list(""));
        assertEquals(List.of(), fx.lower(0).list("").stream().filter(n -> !List.of("d", "f", "ln").contains(n))
                .toList());
    }
}
