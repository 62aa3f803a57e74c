package dev.layerfs.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.layerfs.core.nativeio.Stat;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A mount by a user without privileges on the kernel transport: fusermount3 mounts /dev/fuse and hands the
 * descriptor back. The user is nobody (65534): fusermount3 refuses a uid without a passwd entry ("could not
 * determine username").
 */
class UnprivilegedMountTest {
    private static final int USER = 65534;
    private static final List<String> AS_USER = List.of("setpriv", "--reuid=" + USER, "--regid=" + USER,
            "--clear-groups");
    private static final Path DEV_FUSE = Path.of("/dev/fuse");

    @RegisterExtension
    final MountExtension ext = new MountExtension();

    @Test
    void aUserMountsThroughFusermount3AndUnmountsWithIt() throws Exception {
        Layers l = ext.layers("user", 1);
        Fixture.file(l.lower(0).resolve("theirs"), "lower\n");
        Files.createDirectories(l.lower(0).resolve("d"));
        Sh.ok("chown", USER + ":" + USER, l.lower(0).resolve("theirs").toString(), l.lower(0).resolve("d").toString());
        Set<PosixFilePermission> devFuse = openToTheUser(l);
        try {
            MountExtension.Foreground daemon = ext.startForeground(AS_USER, l.mnt(), "-o",
                    l.options() + ",transport=kernel", l.mnt().toString());
            MountInfo.Entry mounted = MountInfo.at(l.mnt()).orElseThrow();
            assertEquals("fuse.layerfs", mounted.fsType());

            // Only the user may enter the mount (no allow_other without user_allow_other in /etc/fuse.conf).
            Path m = l.mnt();
            String out = asUser("echo mine > " + m.resolve("new") + " && cat " + m.resolve("new")
                    + " && echo more >> " + m.resolve("theirs") + " && cat " + m.resolve("theirs")
                    + " && mkdir " + m.resolve("d/sub") + " && stat -c '%n %u:%g' " + m.resolve("new") + " "
                    + m.resolve("d/sub"));
            assertEquals("mine\nlower\nmore\n" + m.resolve("new") + " " + USER + ":" + USER + "\n" + m.resolve("d/sub")
                    + " " + USER + ":" + USER + "\n", out);
            for (String created : List.of("new", "d/sub", "theirs")) {
                Stat upper = Errnos.lstat(l.upper().resolve(created));
                assertEquals(USER, upper.uid(), created + " in the upper layer");
                assertEquals(USER, upper.gid(), created + " in the upper layer");
            }
            assertEquals("lower\nmore\n", Files.readString(l.upper().resolve("theirs")));
            assertEquals("lower\n", Files.readString(l.lower(0).resolve("theirs")), "the lower layer is untouched");

            Sh.Result u = Sh.run(concat(AS_USER, List.of("fusermount3", "-u", l.mnt().toString())), ext.env(), null,
                    Duration.ofSeconds(30));
            assertEquals(0, u.exitCode(), u::toString);
            assertFalse(MountInfo.isMounted(l.mnt()));
            assertEquals(0, daemon.awaitExit(Duration.ofSeconds(30)), daemon::log);
            assertTrue(Files.isRegularFile(l.upper().resolve("new")));
        } finally {
            Files.setPosixFilePermissions(DEV_FUSE, devFuse);
        }
    }

    @Test
    void sigtermUnmountsThroughFusermount3() throws Exception {
        Layers l = ext.layers("term", 1);
        Set<PosixFilePermission> devFuse = openToTheUser(l);
        try {
            // The launcher returns once the daemon is ready, its signal handlers in place.
            List<String> cmd = concat(AS_USER, List.of(MountExtension.launcher().toString(), "-o",
                    l.options() + ",transport=kernel", l.mnt().toString()));
            MountExtension.Launch launch = ext.adopt(l.mnt(), () -> Sh.run(cmd, ext.env(), null,
                    Duration.ofSeconds(60)));
            assertEquals(0, launch.exitCode(), launch.result()::toString);
            Daemon daemon = launch.mount().orElseThrow().daemon();
            Sh.ok("kill", "-TERM", Long.toString(daemon.pid()));
            assertTrue(daemon.awaitExit(Duration.ofSeconds(30)), "the daemon exits after SIGTERM");
            assertFalse(MountInfo.isMounted(l.mnt()));
        } finally {
            Files.setPosixFilePermissions(DEV_FUSE, devFuse);
        }
    }

    /**
     * The user owns the upper, work and mount point directories and reaches the layers; jnr writes its native stub
     * to the temporary directory, so one the user may write; /dev/fuse (0600 here) becomes 0666. Returns
     * /dev/fuse's permissions, for the caller to restore in a finally.
     */
    private Set<PosixFilePermission> openToTheUser(Layers l) throws Exception {
        Sh.ok("chown", USER + ":" + USER, l.upper().toString(), l.work().toString(), l.mnt().toString());
        for (Path p = l.root(); p.startsWith(ext.root().getParent()); p = p.getParent()) {
            Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwxr-xr-x"));
        }
        Files.setPosixFilePermissions(ext.tmpDir(), PosixFilePermissions.fromString("rwxrwxrwx"));
        Set<PosixFilePermission> devFuse = Files.getPosixFilePermissions(DEV_FUSE);
        Files.setPosixFilePermissions(DEV_FUSE, PosixFilePermissions.fromString("rw-rw-rw-"));
        return devFuse;
    }

    /** Runs a shell script as the user; its output. */
    private String asUser(String script) {
        Sh.Result r = Sh.run(concat(AS_USER, List.of("sh", "-c", script)), ext.env(), null, Duration.ofSeconds(30));
        assertEquals(0, r.exitCode(), r::toString);
        return r.stdout();
    }

    private static List<String> concat(List<String> a, List<String> b) {
        List<String> out = new java.util.ArrayList<>(a);
        out.addAll(b);
        return out;
    }
}
