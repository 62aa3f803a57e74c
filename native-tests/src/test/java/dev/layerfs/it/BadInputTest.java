package dev.layerfs.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.function.Supplier;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Each mistake is refused: a non-zero exit, exactly one line on stderr naming the problem, no mount, no daemon,
 * and nothing created or changed anywhere (no {@code work} directory in the workdir, no launcher scratch left).
 */
class BadInputTest {
    @RegisterExtension
    final MountExtension ext = new MountExtension();

    private Layers layers() {
        Layers l = ext.layers("bad", 2);
        Fixture.file(l.lower(0).resolve("a"), "a\n");
        Fixture.file(l.lower(1).resolve("b"), "b\n");
        return l;
    }

    /** Runs the launcher and checks the refusal; returns the one stderr line, without a leading "layerfs: ". */
    private String refused(Path mountPoint, String mustMention, String... args) {
        return refused(mountPoint, mustMention, () -> ext.launch(mountPoint, args));
    }

    private String refused(Path mountPoint, String mustMention, Supplier<MountExtension.Launch> run) {
        SortedMap<String, Tree.Node> before = Tree.scan(ext.root(), n -> true);
        MountExtension.Launch launch = run.get();
        Sh.Result r = launch.result();
        assertNotEquals(0, r.exitCode(), r::toString);
        List<String> lines = r.stderrLines();
        assertEquals(1, lines.size(), () -> "exactly one line on stderr: " + r);
        String line = lines.get(0).startsWith("layerfs: ") ? lines.get(0).substring(9) : lines.get(0);
        assertTrue(line.contains(mustMention), () -> "the message must mention '" + mustMention + "': " + r);
        assertEquals("", r.stdout(), r::toString);
        assertTrue(launch.mount().isEmpty(), "no mount");
        assertFalse(MountInfo.isMounted(mountPoint), "nothing mounted at " + mountPoint);
        List<MountInfo.Entry> under = new ArrayList<>(MountInfo.under(ext.root()));
        under.removeIf(e -> e.fsType().equals("tmpfs"));
        assertEquals(List.of(), under, "no mount below the test's directory");
        assertEquals(List.of(), Daemon.mentioning(ext.root()), "no daemon left running");
        Tree.assertSame("the test's directories (nothing may be created or changed)", before,
                Tree.scan(ext.root(), n -> true), Tree.STRUCTURE);
        assertEquals(List.of(), list(ext.tmpDir()), "the launcher's scratch directory is gone");
        return line;
    }

    private static List<String> list(Path dir) {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static String opts(Path upper, Path work, Path... lowers) {
        StringBuilder b = new StringBuilder("lowerdir=");
        for (int i = 0; i < lowers.length; i++) {
            b.append(i == 0 ? "" : ":").append(Layers.escape(lowers[i]));
        }
        if (upper != null) {
            b.append(",upperdir=").append(upper);
        }
        if (work != null) {
            b.append(",workdir=").append(work);
        }
        return b.toString();
    }

    @Test
    void noLowerdir() {
        Layers l = layers();
        refused(l.mnt(), "lowerdir", "-o", "upperdir=" + l.upper() + ",workdir=" + l.work(), l.mnt().toString());
    }

    @Test
    void aMissingLayer() {
        Layers l = layers();
        Path missing = l.root().resolve("missing");
        refused(l.mnt(), missing.toString(), "-o", opts(l.upper(), l.work(), l.lower(0), missing),
                l.mnt().toString());
        refused(l.mnt(), missing.toString(), "-o", opts(missing, l.work(), l.lower(0), l.lower(1)),
                l.mnt().toString());
    }

    @Test
    void aLayerThatIsNotADirectory() {
        Layers l = layers();
        Path file = l.lower(0).resolve("a");
        String line = refused(l.mnt(), file.toString(), "-o", opts(l.upper(), l.work(), file, l.lower(1)),
                l.mnt().toString());
        assertTrue(line.contains("not a directory"), line);
    }

    @Test
    void aLayerPathWithANameTooLongSaysSo() {
        Layers l = layers();
        Path tooLong = l.root().resolve("x".repeat(300));
        String line = refused(l.mnt(), "too long", "-o", opts(l.upper(), l.work(), l.lower(0), tooLong),
                l.mnt().toString());
        assertTrue(line.contains(tooLong.toString()), line);
    }

    @Test
    void aLayerThatIsASymlinkLoopSaysSo() throws IOException {
        Layers l = layers();
        Path loop = l.root().resolve("loop");
        Files.createSymbolicLink(loop, loop.getFileName());
        String line = refused(l.mnt(), "symbolic link", "-o", opts(l.upper(), l.work(), l.lower(0), loop),
                l.mnt().toString());
        assertTrue(line.contains(loop.toString()), line);
    }

    @Test
    void aLayerTheDaemonCannotReadIsRefusedBeforeMounting() throws IOException {
        Layers l = layers();
        // Another user can reach the test's directories, but not into the second lower layer.
        for (Path p = l.lower(1); p.startsWith(ext.root().getParent()); p = p.getParent()) {
            Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwxr-xr-x"));
        }
        Files.setPosixFilePermissions(l.lower(1), PosixFilePermissions.fromString("rwx------"));
        // jnr writes its native stub to the temporary directory: one this user may write.
        Path tmp = Files.createDirectories(l.root().resolve("tmp-2000"));
        Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rwxrwxrwx"));
        List<String> cmd = List.of("setpriv", "--reuid=2000", "--regid=2000", "--clear-groups",
                MountExtension.launcher().toString(), "-f", "-o", opts(null, null, l.lower(0), l.lower(1)),
                l.mnt().toString());
        String line = refused(l.mnt(), l.lower(1).toString(),
                () -> ext.adopt(l.mnt(), () -> Sh.run(cmd, Map.of("TMPDIR", tmp.toString()), null,
                        Duration.ofSeconds(60))));
        assertTrue(line.contains("cannot be read: permission denied to uid 2000"), line);
    }

    @Test
    void upperdirWithoutWorkdir() {
        Layers l = layers();
        refused(l.mnt(), "workdir", "-o", opts(l.upper(), null, l.lower(0), l.lower(1)), l.mnt().toString());
        refused(l.mnt(), "upperdir", "-o", opts(null, l.work(), l.lower(0), l.lower(1)), l.mnt().toString());
    }

    @Test
    void aWorkdirOnAnotherFilesystemThanTheUpperdir() {
        Layers l = layers();
        Path fs = ext.dir("tmpfs");
        ext.mountTmpfs(fs);
        Path work = fs.resolve("w");
        try {
            Files.createDirectory(work);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        String line = refused(l.mnt(), work.toString(), "-o", opts(l.upper(), work, l.lower(0), l.lower(1)),
                l.mnt().toString());
        assertTrue(line.contains("filesystem"), line);
        assertEquals(List.of(), list(work), "no work directory made on the tmpfs");
    }

    @Test
    void aMissingMountPoint() {
        Layers l = layers();
        Path mp = l.root().resolve("nowhere");
        refused(mp, mp.toString(), "-o", l.options(), mp.toString());
    }

    @Test
    void aMountPointThatIsNotADirectory() {
        Layers l = layers();
        Path mp = Fixture.file(l.root().resolve("file-mp"), "x");
        String line = refused(mp, mp.toString(), "-o", l.options(), mp.toString());
        assertTrue(line.contains("not a directory"), line);
    }

    @Test
    void aMountPointInsideALayer() {
        Layers l = layers();
        Path mp = Fixture.dir(l.lower(1).resolve("sub"));
        refused(mp, "inside", "-o", l.options(), mp.toString());
    }

    @Test
    void aLayerInsideTheMountPoint() {
        Layers l = layers();
        Path inner = Fixture.dir(l.mnt().resolve("inner"));
        Fixture.file(inner.resolve("c"), "c");
        refused(l.mnt(), "inside", "-o", opts(l.upper(), l.work(), l.lower(0), inner), l.mnt().toString());
    }

    @Test
    void malformedOptions() {
        Layers l = layers();
        refused(l.mnt(), "fsync", "-o", l.options() + ",fsync=x", l.mnt().toString());
        refused(l.mnt(), "timeout", "-o", l.options() + ",timeout=soon", l.mnt().toString());
        refused(l.mnt(), "lowerdir", "-o", "lowerdir=" + l.lower(0) + "::" + l.lower(1), l.mnt().toString());
        refused(l.mnt(), "--bogus", "--bogus", "-o", l.options(), l.mnt().toString());
    }

    @Test
    void contradictoryOrOverlappingDirectories() {
        Layers l = layers();
        refused(l.mnt(), "ephemeral", "-o", l.options() + ",ephemeral", l.mnt().toString());
        Path workInUpper = Fixture.dir(l.upper().resolve("w"));
        refused(l.mnt(), "inside", "-o", opts(l.upper(), workInUpper, l.lower(0), l.lower(1)), l.mnt().toString());
        refused(l.mnt(), l.lower(0).toString(), "-o", opts(l.upper(), l.work(), l.lower(0), l.lower(0)),
                l.mnt().toString());
    }
}
