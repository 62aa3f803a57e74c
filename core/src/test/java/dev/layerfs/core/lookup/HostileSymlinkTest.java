package dev.layerfs.core.lookup;

import static dev.layerfs.core.testing.FsAssert.assertErrno;
import static dev.layerfs.core.testing.OverlayIo.names;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.layerfs.core.Overlay;
import dev.layerfs.core.error.Errno;
import dev.layerfs.core.model.Caller;
import dev.layerfs.core.nativeio.Linux;
import dev.layerfs.core.testing.LowerLayersUnchanged;
import dev.layerfs.core.testing.OverlayFixture;
import dev.layerfs.core.testing.TreeSnapshot;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * A hostile image layer ({@code etc -> /etc}, {@code x -> ../../..}) must not make the engine read, list or
 * write anything outside its layers: symbolic links inside layers are never followed.
 */
@ExtendWith(LowerLayersUnchanged.class)
class HostileSymlinkTest {
    @TempDir
    Path tmp;

    OverlayFixture fx;
    Path outside;

    @BeforeEach
    void layers() throws Exception {
        fx = OverlayFixture.create(tmp);
        // A directory outside the layers standing in for the host: reachable only by following a link.
        outside = Files.createDirectories(tmp.resolve("host"));
        Files.writeString(outside.resolve("passwd"), "host secret");
        fx.l1().symlink("etc", "/etc");
        fx.l1().symlink("x", "../../..");
        fx.l1().symlink("host", outside.toString());
        fx.l1().symlink("rel", "../host");
    }

    @Test
    void resolvingThroughALinkToEtcIsEnotdir() throws Exception {
        Overlay ov = fx.open();
        assertErrno(Errno.ENOTDIR, () -> ov.getattr("etc/passwd"));
        assertErrno(Errno.ENOTDIR, () -> ov.open("etc/passwd", Linux.O_RDONLY));
        assertErrno(Errno.ENOTDIR, () -> ov.getxattr("etc/passwd", "user.x"));
        assertErrno(Errno.ENOTDIR, () -> ov.readlink("etc/passwd"));
        assertTrue(ov.getattr("etc").isSymlink());
        assertEquals("/etc", ov.readlink("etc"));
    }

    @Test
    void dotDotLinksAreNotFollowed() throws Exception {
        Overlay ov = fx.open();
        assertErrno(Errno.ENOTDIR, () -> ov.getattr("x/etc/passwd"));
        assertErrno(Errno.ENOTDIR, () -> ov.getattr("rel/passwd"));
        assertErrno(Errno.ENOTDIR, () -> ov.readdir("x"));
        assertErrno(Errno.ENOTDIR, () -> ov.readdir("rel"));
    }

    @Test
    void readdirOfALinkedDirectoryFailsRatherThanListingTheTarget() throws Exception {
        Overlay ov = fx.open();
        assertErrno(Errno.ENOTDIR, () -> ov.readdir("etc"));
        assertErrno(Errno.ENOTDIR, () -> ov.readdir("host"));
    }

    @Test
    void openingTheLinkItselfIsRefused() throws Exception {
        Overlay ov = fx.open();
        assertErrno(Errno.ELOOP, () -> ov.open("host", Linux.O_RDONLY));
    }

    @Test
    void nothingIsWrittenThroughALink() throws Exception {
        TreeSnapshot host = TreeSnapshot.of(outside);
        Overlay ov = fx.open();
        assertErrno(Errno.ENOTDIR, () -> ov.open("host/new", Linux.O_WRONLY | Linux.O_CREAT, 0644, Caller.ROOT));
        assertErrno(Errno.ENOTDIR, () -> ov.open("host/passwd", Linux.O_WRONLY | Linux.O_TRUNC));
        assertErrno(Errno.ENOTDIR, () -> ov.mkdir("host/d", 0755, Caller.ROOT));
        assertErrno(Errno.ENOTDIR, () -> ov.chmod("host/passwd", 0777));
        assertErrno(Errno.ENOTDIR, () -> ov.truncate("host/passwd", 0));
        assertErrno(Errno.ENOTDIR, () -> ov.unlink("host/passwd"));
        assertErrno(Errno.ENOTDIR, () -> ov.setxattr("host/passwd", "user.x", new byte[] {1}, 0));
        assertErrno(Errno.ENOTDIR, () -> ov.rename("host/passwd", "stolen", 0));
        assertErrno(Errno.ENOTDIR, () -> ov.link("host/passwd", "stolen"));
        assertErrno(Errno.ENOTDIR, () -> ov.symlink("t", "host/s", Caller.ROOT));
        assertEquals(List.of(), host.diff(TreeSnapshot.of(outside)), "the outside directory changed");
        assertFalse(fx.upper().exists("stolen"));
    }

    @Test
    void aLinkCreatedThroughTheOverlayIsNotFollowedEither() throws Exception {
        Overlay ov = fx.open();
        ov.symlink(outside.toString(), "mine", Caller.ROOT);
        assertErrno(Errno.ENOTDIR, () -> ov.getattr("mine/passwd"));
        assertErrno(Errno.ENOTDIR, () -> ov.readdir("mine"));
        assertErrno(Errno.ENOTDIR, () -> ov.open("mine/x", Linux.O_WRONLY | Linux.O_CREAT, 0644, Caller.ROOT));
        assertFalse(Files.exists(outside.resolve("x")));
    }

    @Test
    void aLowerLinkUnderARealDirectoryDoesNotJoinTheMerge() throws Exception {
        fx.l1().file("d/mine", "m");
        fx.l2().symlink("d", outside.toString());
        Overlay ov = fx.open();
        assertEquals(List.of("mine"), names(ov, "d"));
        assertErrno(Errno.ENOENT, () -> ov.getattr("d/passwd"));
    }

    @Test
    void aLinkInsideTheLayerIsNotFollowedToo() throws Exception {
        fx.l1().file("real/f", "x");
        fx.l1().symlink("alias", "real");
        Overlay ov = fx.open();
        assertErrno(Errno.ENOTDIR, () -> ov.getattr("alias/f"));
        assertEquals("real", ov.readlink("alias"));
    }
}
