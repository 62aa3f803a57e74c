package dev.layerfs.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * {@code layerfs serve}: one daemon serving many mounts handed over by the mount client (bin/layerfs with
 * LAYERFS_RUN_DIR naming the daemon's run directory). Every mount is real; trees are compared with the kernel
 * overlay on copies of the same layers.
 */
class ServeTest {
    @RegisterExtension
    final MountExtension ext = new MountExtension();

    private ResidentDaemon daemon;

    @BeforeEach
    void startDaemon() {
        daemon = ResidentDaemon.start(ext.root());
    }

    @AfterEach
    void stopDaemon() {
        if (daemon != null) {
            daemon.close();
        }
    }

    /** Layers with content of their own (a file per layer, a whited-out name, a shadowed file). */
    private Layers stack(String name, int lowers) {
        Layers l = ext.layers(name, lowers);
        for (int i = 0; i < lowers; i++) {
            Fixture.file(l.lower(i).resolve("only-" + (i + 1)), name + " layer " + (i + 1));
            Fixture.file(l.lower(i).resolve("shared"), name + " shared from " + (i + 1));
            Fixture.dir(l.lower(i).resolve("dir-" + (i + 1)));
            Fixture.file(l.lower(i).resolve("dir-" + (i + 1) + "/inner"), "inner " + i);
        }
        Fixture.ageAll(l.root());
        return l;
    }

    /** The same writes through a mount: a new file, a copy-up, a removal of a lower file, a new directory. */
    private static void write(Path mnt) throws IOException {
        Files.writeString(mnt.resolve("new-file"), "new\n");
        Files.writeString(mnt.resolve("shared"), "changed\n");
        Files.delete(mnt.resolve("only-1"));
        Files.createDirectory(mnt.resolve("made"));
        Files.writeString(mnt.resolve("made/child"), "child\n");
    }

    private static SortedMap<String, Tree.Node> scan(Path p) {
        return Tree.scan(p, Tree.USER_XATTRS);
    }

    private static final java.util.Set<Tree.Field> FIELDS = java.util.EnumSet.of(Tree.Field.TYPE, Tree.Field.MODE,
            Tree.Field.OWNER, Tree.Field.SIZE, Tree.Field.CONTENT, Tree.Field.TARGET);

    private void assertSameAsKernel(Layers layerfs, KernelOverlay kernel) {
        Tree.assertSame("merged trees of " + layerfs.mnt(), scan(kernel.mountPoint()), scan(layerfs.mnt()), FIELDS);
        Tree.assertSame("upper layers of " + layerfs.mnt(), scan(kernel.layers().upper()), scan(layerfs.upper()),
                FIELDS);
    }

    @Test
    void threeMountsEachMatchTheKernelOverlayAndAnUnmountLeavesTheOthersServing() throws IOException {
        List<Layers> stacks = new ArrayList<>();
        List<KernelOverlay> kernels = new ArrayList<>();
        for (int i = 1; i <= 3; i++) {
            Layers l = stack("s" + i, i + 1);
            kernels.add(ext.mountKernel(l.copyTo(ext.root().resolve("k" + i))));
            daemon.mount(l.options(), l.mnt());
            stacks.add(l);
        }
        assertEquals(3, daemon.recordedMounts());
        for (int i = 0; i < 3; i++) {
            assertEquals("fuse.layerfs", MountInfo.at(stacks.get(i).mnt()).orElseThrow().fsType());
            write(stacks.get(i).mnt());
            write(kernels.get(i).mountPoint());
            assertSameAsKernel(stacks.get(i), kernels.get(i));
        }
        Unmounter.unmount(stacks.get(0).mnt());
        for (int i = 1; i < 3; i++) {
            Files.writeString(stacks.get(i).mnt().resolve("after"), "after\n");
            Files.writeString(kernels.get(i).mountPoint().resolve("after"), "after\n");
            assertSameAsKernel(stacks.get(i), kernels.get(i));
        }
        awaitRecorded(2);
        for (int i = 1; i < 3; i++) {
            Unmounter.unmount(stacks.get(i).mnt());
        }
        awaitRecorded(0);
        assertEquals(List.of(), daemon.problems());
    }

    @Test
    void aMountWhoseLowerLayerIsRemovedDoesNotDisturbAnother() throws IOException {
        Layers broken = stack("broken", 2);
        Layers healthy = stack("healthy", 2);
        daemon.mount(broken.options(), broken.mnt());
        daemon.mount(healthy.options(), healthy.mnt());
        Sh.ok("rm", "-rf", "--", broken.lower(1).toString());
        for (String name : List.of("only-2", "dir-2/inner", "shared", "nothing")) {
            try {
                Files.readAllBytes(broken.mnt().resolve(name));
            } catch (IOException expected) {
                // what the broken mount answers is its own business; it must answer
            }
        }
        Sh.run("ls", "-laR", broken.mnt().toString());
        Files.writeString(healthy.mnt().resolve("still"), "fine\n");
        assertEquals("healthy layer 2", Files.readString(healthy.mnt().resolve("only-2")));
        assertEquals("fine\n", Files.readString(healthy.upper().resolve("still")));
        assertTrue(daemon.isAlive());
        Layers later = stack("later", 1);
        daemon.mount(later.options(), later.mnt());
        assertEquals("later layer 1", Files.readString(later.mnt().resolve("only-1")));
        for (Layers l : List.of(broken, healthy, later)) {
            Unmounter.unmount(l.mnt());
        }
        awaitRecorded(0);
    }

    @Test
    void sigtermUnmountsEveryMountAndExitsZero() throws IOException {
        Layers a = stack("a", 1);
        Layers b = stack("b", 2);
        daemon.mount(a.options(), a.mnt());
        daemon.mount(b.lowerdirOption() + ",ephemeral", b.mnt());
        Files.writeString(b.mnt().resolve("scratch"), "gone at unmount\n");
        Path daemonTmp = daemon.daemonTmp();
        assertEquals(1, countEntries(daemonTmp), "the ephemeral layer is in the daemon's TMPDIR");
        assertEquals(0, daemon.stop(Duration.ofSeconds(20)), daemon.log());
        assertFalse(MountInfo.isMounted(a.mnt()));
        assertFalse(MountInfo.isMounted(b.mnt()));
        assertEquals(0, countEntries(daemonTmp), "the ephemeral layer is deleted");
        assertFalse(Files.exists(daemon.runDir().resolve("control.sock")));
        assertFalse(Files.exists(daemon.runDir().resolve("layerfs.pid")));
        assertEquals(0, daemon.recordedMounts());
        assertEquals(List.of(), daemon.problems());
    }

    /**
     * The client mounts in its own mount namespace: the mount is there and not in the daemon's, the daemon serves
     * it, and at SIGTERM unmounts it there (through the namespace the client passed).
     */
    @Test
    void aMountFromAnotherMountNamespaceIsServedAndUnmountedThere() throws Exception {
        Layers l = stack("ns", 2).withoutUpper();
        Path flag = ext.root().resolve("stop");
        Path listing = ext.root().resolve("listing");
        Path after = ext.root().resolve("after");
        String script = "\"$0\" -o \"$1\" \"$2\" && ls \"$2\" > \"$3.tmp\" && mv \"$3.tmp\" \"$3\" || exit 1\n"
                + "while [ ! -e \"$4\" ]; do sleep 0.05; done\n"
                + "grep -c \" $2 \" /proc/self/mounts > \"$5\"\n";
        ProcessBuilder pb = new ProcessBuilder("unshare", "-m", "--propagation", "private", "bash", "-c", script,
                MountExtension.launcher().toString(), l.options(), l.mnt().toString(), listing.toString(),
                flag.toString(), after.toString());
        pb.environment().putAll(daemon.env());
        pb.redirectErrorStream(true).redirectOutput(ext.root().resolve("unshare.log").toFile());
        Process p = pb.start();
        try {
            long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            while (!Files.exists(listing) && p.isAlive() && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            assertTrue(Files.exists(listing), Files.readString(ext.root().resolve("unshare.log")));
            assertEquals(List.of("dir-1", "dir-2", "only-1", "only-2", "shared"), Files.readAllLines(listing));
            assertFalse(MountInfo.isMounted(l.mnt()), "not in the daemon's (and the test's) namespace");
            assertEquals(1, daemon.recordedMounts());
            assertEquals(0, daemon.stop(Duration.ofSeconds(20)), daemon.log());
            Files.createFile(flag);
            assertTrue(p.waitFor(30, java.util.concurrent.TimeUnit.SECONDS));
            assertEquals("0", Files.readString(after).trim(), "unmounted in the client's namespace");
            assertEquals(List.of(), daemon.problems());
        } finally {
            if (!Files.exists(flag)) {
                Files.createFile(flag);
            }
            if (!p.waitFor(30, java.util.concurrent.TimeUnit.SECONDS)) {
                p.destroyForcibly();
            }
        }
    }

    @Test
    void aKilledDaemonsMountsAreClearedByTheNextOneAndANewMountWorks() throws IOException {
        Layers a = stack("a", 1);
        Layers b = stack("b", 1);
        daemon.mount(a.options(), a.mnt());
        daemon.mount(b.lowerdirOption() + ",ephemeral", b.mnt());
        Files.writeString(a.mnt().resolve("written"), "kept\n");
        assertEquals(1, countEntries(daemon.daemonTmp()));
        daemon.kill();
        for (Layers l : List.of(a, b)) {
            try {
                Files.readAttributes(l.mnt().resolve("only-1"), "unix:mode", LinkOption.NOFOLLOW_LINKS);
                fail("a dead mount answered");
            } catch (FileSystemException e) {
                assertTrue(String.valueOf(e.getReason()).contains("not connected"), e.toString());
            }
        }
        // With a dead daemon's socket left behind, the command makes its mount in a process of its own.
        assertTrue(Files.exists(daemon.runDir().resolve("control.sock")));
        daemon.restart();
        assertFalse(MountInfo.isMounted(a.mnt()), "cleared at start");
        assertFalse(MountInfo.isMounted(b.mnt()), "cleared at start");
        assertTrue(daemon.log().contains("cleared 2 dead mounts"), daemon.log());
        assertEquals(0, countEntries(daemon.daemonTmp()), "the dead mount's ephemeral layer is deleted");
        assertEquals("kept\n", Files.readString(a.upper().resolve("written")));
        daemon.mount(a.options(), a.mnt());
        assertEquals("kept\n", Files.readString(a.mnt().resolve("written")));
        Unmounter.unmount(a.mnt());
        awaitRecorded(0);
    }

    @Test
    void fiftyMountsMadeAndRemovedConcurrentlyThroughTheClient() throws Exception {
        Layers shared = stack("shared", 2).withoutUpper();
        // A first mount and unmount, so that what the daemon opens once (jars, classes) is open before counting.
        Path warm = ext.dir("warm");
        daemon.mount(shared.options(), warm);
        Unmounter.unmount(warm);
        awaitRecorded(0);
        List<String> fdsBefore = daemon.openFds();
        List<Path> points = new ArrayList<>();
        for (int i = 0; i < 50; i++) {
            points.add(ext.dir("m" + i));
        }
        ExecutorService pool = Executors.newFixedThreadPool(16);
        try {
            List<Future<Sh.Result>> mounts = new ArrayList<>();
            for (Path p : points) {
                mounts.add(pool.submit(() -> daemon.layerfs("-o", shared.options(), p.toString())));
            }
            for (Future<Sh.Result> f : mounts) {
                f.get().assertOk();
            }
            assertEquals(50, daemon.recordedMounts());
            for (Path p : points) {
                assertEquals("shared layer 2", Files.readString(p.resolve("only-2")));
            }
            List<Future<Sh.Result>> unmounts = new ArrayList<>();
            for (Path p : points) {
                unmounts.add(pool.submit(() -> Sh.run("umount", p.toString())));
            }
            for (Future<Sh.Result> f : unmounts) {
                f.get().assertOk();
            }
        } finally {
            pool.shutdownNow();
        }
        awaitRecorded(0);
        // A session's last descriptors close as its threads finish, just after its record goes.
        long settle = System.nanoTime() + Duration.ofSeconds(5).toNanos();
        while (!daemon.openFds().equals(fdsBefore) && System.nanoTime() < settle) {
            Thread.sleep(50);
        }
        assertEquals(fdsBefore, daemon.openFds(), "descriptors of ended sessions are all closed");
        assertTrue(daemon.isAlive());
        assertEquals(List.of(), daemon.problems());
    }

    @Test
    void badInputThroughTheDaemonGivesTheSameLineAndStatusAndChangesNothing() throws IOException {
        Layers l = stack("bad", 1);
        Path missing = ext.root().resolve("missing");
        List<List<String>> commands = List.of(
                List.of("-o", "upperdir=" + l.upper(), l.mnt().toString()),
                List.of("-o", "lowerdir=" + missing, l.mnt().toString()),
                List.of("-o", l.lowerdirOption() + ",upperdir=" + l.upper(), l.mnt().toString()),
                List.of("-o", l.options(), missing.toString()),
                List.of("-o", l.lowerdirOption() + ",redirect_dir=sideways", l.mnt().toString()),
                List.of("-o", l.lowerdirOption() + ",ephemeral,upperdir=" + l.upper(), l.mnt().toString()),
                List.of("-o", l.lowerdirOption() + ",transport=carrier-pigeon", l.mnt().toString()),
                List.of("--bogus", l.mnt().toString()),
                List.of("-o", l.options(), l.lower(0).resolve("dir-1").toString()));
        SortedMap<String, Tree.Node> before = scan(l.root());
        for (List<String> args : commands) {
            Sh.Result viaDaemon = daemon.layerfs(args.toArray(String[]::new));
            List<String> cmd = new ArrayList<>(List.of(MountExtension.launcher().toString()));
            cmd.addAll(args);
            Sh.Result alone = Sh.run(cmd, Map.of("LAYERFS_DAEMON", "off", "TMPDIR", ext.tmpDir().toString()), null,
                    Duration.ofSeconds(60));
            assertTrue(viaDaemon.exitCode() != 0, viaDaemon.toString());
            assertEquals(alone.exitCode(), viaDaemon.exitCode(), args + "\n" + alone + "\n" + viaDaemon);
            assertEquals(alone.stderrLines(), viaDaemon.stderrLines(), args.toString());
            assertEquals(1, viaDaemon.stderrLines().size(), viaDaemon.toString());
        }
        Tree.assertSame("the layers and mount point", before, scan(l.root()), FIELDS);
        assertEquals(0, daemon.recordedMounts());
    }

    @Test
    void withAutostartTheFirstMountStartsADaemonThatServesTheNextOnes() throws Exception {
        Layers a = stack("a", 1);
        Layers b = stack("b", 2);
        Path runDir = Files.createTempDirectory(Path.of("/tmp"), "lfs-auto-");
        Map<String, String> env = Map.of("LAYERFS_RUN_DIR", runDir.toString(), "LAYERFS_AUTOSTART", "1",
                "LAYERFS_DAEMON", "", "TMPDIR", ext.tmpDir().toString());
        long pid = -1;
        try {
            Sh.run(List.of(MountExtension.launcher().toString(), "-o", a.options(), a.mnt().toString()), env, null,
                    Duration.ofSeconds(90)).assertOk();
            pid = Long.parseLong(Files.readString(runDir.resolve("layerfs.pid")).trim());
            String cmdline = Files.readString(Path.of("/proc", Long.toString(pid), "cmdline"));
            assertTrue(cmdline.contains("layerfs-daemon.jar"), cmdline);
            Sh.run(List.of(MountExtension.launcher().toString(), "-o", b.options(), b.mnt().toString()), env, null,
                    Duration.ofSeconds(60)).assertOk();
            assertEquals(pid, Long.parseLong(Files.readString(runDir.resolve("layerfs.pid")).trim()));
            assertEquals(2, countEntries(runDir.resolve("mounts")), "both mounts served by the one daemon");
            assertEquals("b layer 2", Files.readString(b.mnt().resolve("only-2")));
            assertEquals(List.of(), Daemon.forMountPoint(a.mnt()), "no process of its own");
            Unmounter.unmount(a.mnt());
            Unmounter.unmount(b.mnt());
        } finally {
            if (pid > 0) {
                ProcessHandle.of(pid).ifPresent(p -> {
                    p.destroy();
                    try {
                        p.onExit().get(20, java.util.concurrent.TimeUnit.SECONDS);
                    } catch (Exception e) {
                        p.destroyForcibly();
                    }
                });
            }
            for (Layers l : List.of(a, b)) {
                if (MountInfo.isMounted(l.mnt())) {
                    Sh.run("umount", "-l", l.mnt().toString());
                }
            }
            Sh.run("rm", "-rf", "--one-file-system", "--", runDir.toString());
        }
    }

    private static int countEntries(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            return 0;
        }
        try (var s = Files.list(dir)) {
            return (int) s.count();
        }
    }

    /**
     * Before it serves, the daemon runs a warm-up: the mount client mounts a small stack through it, in a mount
     * namespace of the client's own, some times over. Those mounts are logged at debug only, none of them is seen
     * in this namespace, and nothing of them stays: no record, no socket, no directory in the daemon's TMPDIR.
     */
    @Test
    void theWarmUpMountsThroughTheDaemonOutOfSightAndLeavesNothing() throws IOException {
        daemon.close();
        daemon = ResidentDaemon.start(ext.root(), List.of("-d"));
        long mounted = countLines("HandOver - warm-up: mounted ");
        assertTrue(mounted > 0, "the warm-up's mounts went through the daemon:\n" + daemon.log());
        awaitRecorded(0);
        assertEquals(mounted, countLines("MountRegistry - warm-up: unmounted "),
                "every warm-up mount ended:\n" + daemon.log());
        assertTrue(daemon.log().contains("WarmUp - warm-up: " + mounted + " mounts"), daemon.log());
        assertFalse(daemon.log().contains("INFO dev.layerfs.daemon.HandOver - mounted"), daemon.log());
        assertEquals(List.of(), MountInfo.under(ext.root()).stream().map(e -> e.mountPoint().toString()).toList());
        assertFalse(Files.exists(daemon.runDir().resolve("warm-up.sock")));
        try (var left = Files.list(daemon.daemonTmp())) {
            assertEquals(List.of(), left.toList(), "the warm-up's directory is deleted");
        }

        Layers l = stack("after-warm-up", 2);
        daemon.mount(l.options(), l.mnt());
        assertEquals("after-warm-up layer 2", Files.readString(l.mnt().resolve("only-2")));
        assertTrue(daemon.log().contains("INFO dev.layerfs.daemon.HandOver - mounted " + l.mnt()), daemon.log());
        Unmounter.unmount(l.mnt());
        awaitRecorded(0);
        assertEquals(List.of(), daemon.problems());
    }

    /** Lines of the daemon's log with {@code text}. */
    private long countLines(String text) {
        return daemon.log().lines().filter(l -> l.contains(text)).count();
    }

    /** The daemon records a mount until its session has ended and its descriptors are closed. */
    private void awaitRecorded(int n) {
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (daemon.recordedMounts() != n) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("the daemon still records " + daemon.recordedMounts() + " mounts, not " + n
                        + ":\n" + daemon.log());
            }
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }
}
