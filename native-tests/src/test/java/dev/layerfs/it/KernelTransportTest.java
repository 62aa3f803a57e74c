package dev.layerfs.it;

import static dev.layerfs.it.Errnos.assertErrno;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.layerfs.core.error.Errno;
import dev.layerfs.core.nativeio.Linux;
import dev.layerfs.core.nativeio.Stat;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * What the kernel transport ({@code -o transport=kernel}) does that the libfuse2 one cannot: one kernel inode
 * per object (hard links share link count, mode, owner and ctime at once, with the default attribute timeout),
 * rename flags, and attributes of a file removed while open. Runs whatever -Dlayerfs.transport says, since it
 * asks for the transport itself.
 */
class KernelTransportTest {
    @RegisterExtension
    final MountExtension ext = new MountExtension();

    private LayerfsMount mount(Layers l) {
        return ext.mount(l, "transport=kernel");
    }

    @Test
    void hardLinksAreOneInodeSeenThroughEveryName() throws Exception {
        Layers l = ext.layers("links", 1);
        Fixture.file(l.lower(0).resolve("a"), "lower a\n");
        LayerfsMount m = mount(l);
        Path a = m.path("a");
        Path b = m.path("b");
        Stat before = Errnos.lstat(a);
        assertEquals(1, before.nlink());

        Files.createLink(b, a);
        Stat sa = Errnos.lstat(a);
        Stat sb = Errnos.lstat(b);
        assertEquals(2, sa.nlink(), "the source's link count at once");
        assertEquals(2, sb.nlink());
        assertEquals(sa.ino(), sb.ino());
        assertNotEquals(before.ctime(), sa.ctime(), "link() changes the source's ctime");

        Files.setPosixFilePermissions(a, java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
        assertEquals(0600, Errnos.lstat(b).permissions(), "a chmod through one name is seen through the other");
        Errnos.sys().lchownat(Linux.AT_FDCWD, b.toString(), 1234, 4321);
        assertEquals(1234, Errnos.lstat(a).uid(), "a chown through one name is seen through the other");
        assertEquals(4321, Errnos.lstat(a).gid());

        Files.writeString(b, "through b");
        assertEquals("through b", Files.readString(a));
        Files.delete(a);
        assertEquals(1, Errnos.lstat(b).nlink());
        assertEquals("through b", Files.readString(b));
        assertEquals("lower a\n", Files.readString(l.lower(0).resolve("a")), "the lower layer is untouched");
    }

    /**
     * A POSIX ACL granting user 2000 read on a 0600 file (mode 0640 with it: the group bits show the ACL's mask):
     * the kernel overlay checks the ACL of the real inode; through FUSE the kernel checks ACLs only where INIT
     * settled on FUSE_POSIX_ACL, else the mode bits alone refuse that user. The same after the ACL is set
     * through the mount (a copy-up) and after it is removed.
     */
    @Test
    void posixAclsDecideAccessAsOnTheKernelOverlay() throws Exception {
        Layers l = ext.layers("acl", 1);
        Fixture.file(l.lower(0).resolve("f"), "secret\n");
        Fixture.file(l.lower(0).resolve("g"), "other\n");
        Sh.bash("chmod 0600 f g && setfattr -n system.posix_acl_access -v " + READ_FOR_2000 + " f", l.lower(0),
                java.util.Map.of()).assertOk();
        Layers kl = l.copyTo(ext.root().resolve("acl-kernel"));
        KernelOverlay kernel = ext.mountKernel(kl);
        LayerfsMount m = mount(l);
        String script = """
                as() { u=$1; shift; setpriv --reuid=$u --regid=$u --clear-groups "$@" 2>&1 || echo "exit $?"; }
                as 2000 cat f; as 2001 cat f; as 2000 cat g
                setfattr -n system.posix_acl_access -v %s g; getfattr -e hex -n system.posix_acl_access g
                stat -c %%a f g; as 2000 cat g
                setfattr -x system.posix_acl_access f; stat -c %%a f; as 2000 cat f
                """.formatted(READ_FOR_2000);
        String onKernel = Sh.bash(script, kernel.mountPoint(), java.util.Map.of()).stdout();
        String onLayerfs = Sh.bash(script, m.mountPoint(), java.util.Map.of()).stdout();
        assertTrue(onKernel.startsWith("secret\n"), "the kernel overlay lets user 2000 read f: " + onKernel);
        assertEquals(onKernel, onLayerfs, "the same outcomes (kernel overlay, layerfs)");
        assertEquals(0600, Errnos.lstat(l.lower(0).resolve("g")).permissions(), "the lower layer is untouched");
    }

    /** system.posix_acl_access: user::rw-, user:2000:r--, group::---, mask::r--, other::---. */
    private static final String READ_FOR_2000 = "0x02000000" + "01000600ffffffff" + "02000400d0070000"
            + "04000000ffffffff" + "10000400ffffffff" + "20000000ffffffff";

    @Test
    void renameFlags() throws Exception {
        Layers l = ext.layers("rename2", 1);
        Fixture.file(l.lower(0).resolve("x"), "x\n");
        Fixture.file(l.lower(0).resolve("y"), "y\n");
        LayerfsMount m = mount(l);

        assertErrno(Errno.EEXIST, () -> Errnos.rename(m.path("x"), m.path("y"), Linux.RENAME_NOREPLACE));
        Errnos.rename(m.path("x"), m.path("z"), Linux.RENAME_NOREPLACE);
        assertEquals("x\n", Files.readString(m.path("z")));
        assertFalse(Files.exists(m.path("x")));

        Errnos.rename(m.path("z"), m.path("y"), Linux.RENAME_EXCHANGE);
        assertEquals("y\n", Files.readString(m.path("z")));
        assertEquals("x\n", Files.readString(m.path("y")));

        assertErrno(Errno.EINVAL, () -> Errnos.rename(m.path("y"), m.path("w"), Linux.RENAME_WHITEOUT));
        assertTrue(Files.exists(m.path("y")));
    }

    @Test
    void aFileRemovedWhileOpenKeepsItsDataAndAttributes() throws Exception {
        Layers l = ext.layers("unlinked", 1);
        Fixture.file(l.lower(0).resolve("f"), "lower\n");
        LayerfsMount m = mount(l);
        try (FileChannel ch = FileChannel.open(m.path("f"), StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            Files.delete(m.path("f"));
            assertFalse(Files.exists(m.path("f")));
            ch.write(ByteBuffer.wrap("written after unlink".getBytes(StandardCharsets.UTF_8)), 0);
            assertEquals(20, ch.size(), "fstat of a nameless node");
            ByteBuffer back = ByteBuffer.allocate(20);
            ch.read(back, 0);
            assertEquals("written after unlink", new String(back.array(), StandardCharsets.UTF_8));
        }
        assertEquals("lower\n", Files.readString(l.lower(0).resolve("f")));
    }

    @Test
    void renamedDirectoriesCarryTheirOpenFilesAndChildren() throws Exception {
        Layers l = ext.layers("subtree", 1);
        LayerfsMount m = mount(l);
        // Made through the mount: a lower directory cannot be renamed (EXDEV, as on the kernel overlay).
        Files.createDirectories(m.path("d/e"));
        Files.writeString(m.path("d/e/f"), "deep\n");
        assertEquals("deep\n", Files.readString(m.path("d/e/f")));
        try (FileChannel ch = FileChannel.open(m.path("d/e/f"), StandardOpenOption.READ)) {
            Files.move(m.path("d"), m.path("moved"));
            assertEquals("deep\n", Files.readString(m.path("moved/e/f")));
            assertEquals(5, ch.size());
            Files.writeString(m.path("moved/e/g"), "new\n");
            assertEquals("new\n", Files.readString(m.path("moved/e/g")));
        }
        assertFalse(Files.exists(m.path("d")));
    }

    @Test
    void namesAreBytesThatReachTheLayersUnchanged() {
        Layers l = ext.layers("bytes", 1);
        LayerfsMount m = mount(l);
        String script = """
                set -e
                cd "$M"
                touch $'n\\xff' $'caf\\xe9'
                mkdir $'d\\x80'
                echo x > $'d\\x80/f\\xfe'
                ln -s $'t\\xff' $'s\\xfe'
                test -f "$U"/$'n\\xff'
                test -f "$U"/$'caf\\xe9'
                test "$(cat "$U"/$'d\\x80/f\\xfe')" = x
                test "$(readlink $'s\\xfe')" = $'t\\xff'
                ls | grep -qx $'n\\xff'
                mv $'n\\xff' $'m\\xfe'
                test -f "$U"/$'m\\xfe'
                test ! -e $'n\\xff'
                """;
        Sh.Result r = Sh.bash(script, m.mountPoint(), java.util.Map.of("M", m.mountPoint().toString(), "U",
                l.upper().toString()));
        assertEquals(0, r.exitCode(), r::toString);
    }

    @Test
    void debugLogsEveryRequestWithItsOutcome() throws Exception {
        Layers l = ext.layers("debug", 1);
        Fixture.file(l.lower(0).resolve("a"), "a\n");
        Fixture.file(l.lower(0).resolve("full/x"), "x\n");
        MountExtension.Foreground d = ext.startForeground(l.mnt(), "-d", "-o", l.options() + ",transport=kernel",
                l.mnt().toString());
        assertEquals("a\n", Files.readString(l.mnt().resolve("a")));
        assertErrno(Errno.ENOTEMPTY, () -> Errnos.rmdir(l.mnt().resolve("full")));
        d.unmount();
        assertEquals(0, d.awaitExit(java.time.Duration.ofSeconds(30)), d::log);
        String log = d.log();
        assertTrue(log.contains("INIT: the kernel offers 7."), log);
        assertTrue(log.matches("(?s).*LOOKUP unique \\d+ node 1 len \\d+: ok.*"), log);
        assertTrue(log.matches("(?s).*OPEN unique \\d+ node \\d+ len \\d+ flags 0\\d+ open_flags 0x\\p{XDigit}+: ok.*"),
                log);
        assertTrue(log.matches("(?s).*RMDIR unique \\d+ node 1 len \\d+: error 39 .*"), log);
    }
}
