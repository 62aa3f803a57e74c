package dev.layerfs.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.platform.engine.discovery.DiscoverySelectors.selectClass;

import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.platform.launcher.LauncherDiscoveryRequest;
import org.junit.platform.launcher.core.LauncherDiscoveryRequestBuilder;
import org.junit.platform.launcher.core.LauncherFactory;
import org.junit.platform.launcher.listeners.SummaryGeneratingListener;
import org.junit.platform.launcher.listeners.TestExecutionSummary;

/**
 * The extension itself: a test class that fails with a layerfs mount, a kernel overlay and a busy mount open is
 * run through the JUnit launcher, and afterwards nothing it made may be left: no mount, no daemon, no directory.
 */
class MountExtensionTest {
    private static final String SWITCH = "layerfs.it.selftest";

    /** What the fixture made, for the checks afterwards. */
    static final ConcurrentLinkedQueue<Path> ROOTS = new ConcurrentLinkedQueue<>();
    static final ConcurrentLinkedQueue<Path> MOUNT_POINTS = new ConcurrentLinkedQueue<>();
    static final ConcurrentLinkedQueue<Daemon> DAEMONS = new ConcurrentLinkedQueue<>();
    static final ConcurrentLinkedQueue<FileChannel> OPEN = new ConcurrentLinkedQueue<>();

    /** Runs only inside {@link #nothingIsLeftBehindWhenTestsFail}. */
    @EnabledIfSystemProperty(named = SWITCH, matches = "true")
    static class Fixture {
        @RegisterExtension
        static final MountExtension EXT = new MountExtension().withDaemonExitLimit(Duration.ofSeconds(2));
        static LayerfsMount classMount;

        @BeforeAll
        static void mountForTheClass() throws Exception {
            Layers l = EXT.layers("class", 1);
            dev.layerfs.it.Fixture.file(l.lower(0).resolve("f"), "class\n");
            classMount = EXT.mount(l);
            record(EXT, classMount.mountPoint(), classMount.daemon());
        }

        static void record(MountExtension ext, Path mountPoint, Daemon daemon) {
            ROOTS.add(ext.root());
            MOUNT_POINTS.add(mountPoint);
            if (daemon != null) {
                DAEMONS.add(daemon);
            }
        }

        @Test
        void failsWhileMounted() throws Exception {
            assertEquals("class\n", Files.readString(classMount.path("f")));
            Layers l = EXT.layers("t", 2);
            LayerfsMount m = EXT.mount(l);
            record(EXT, m.mountPoint(), m.daemon());
            Layers k = EXT.layers("k", 2);
            KernelOverlay overlay = EXT.mountKernel(k);
            record(EXT, overlay.mountPoint(), null);
            Files.writeString(m.path("x"), "x");
            fail("deliberate failure with two mounts up");
        }

        @Test
        void leavesABusyMount() throws Exception {
            assertEquals("class\n", Files.readString(classMount.path("f")));
            Layers l = EXT.layers("busy", 2);
            dev.layerfs.it.Fixture.file(l.lower(0).resolve("held"), "held\n");
            LayerfsMount m = EXT.mount(l);
            record(EXT, m.mountPoint(), m.daemon());
            OPEN.add(FileChannel.open(m.path("held"), StandardOpenOption.READ));
        }

        @Test
        void leaksAMountTheExtensionWasNotTold() throws Exception {
            Layers l = EXT.layers("leak", 2);
            // Behind the extension's back: layerfs -f started directly.
            Process p = new ProcessBuilder(MountExtension.launcher().toString(), "-f", "-o", l.options(),
                    l.mnt().toString()).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (!MountInfo.isMounted(l.mnt()) && p.isAlive() && System.nanoTime() < deadline) {
                Thread.sleep(10);
            }
            assertTrue(MountInfo.isMounted(l.mnt()));
            record(EXT, l.mnt(), Daemon.forMountPoint(l.mnt()).get(0));
        }
    }

    @Test
    void nothingIsLeftBehindWhenTestsFail() throws Exception {
        TestExecutionSummary summary;
        System.setProperty(SWITCH, "true");
        try {
            LauncherDiscoveryRequest request = LauncherDiscoveryRequestBuilder.request()
                    .selectors(selectClass(Fixture.class)).build();
            SummaryGeneratingListener listener = new SummaryGeneratingListener();
            LauncherFactory.create().execute(request, listener);
            summary = listener.getSummary();
        } finally {
            System.clearProperty(SWITCH);
            for (FileChannel ch : OPEN) {
                try {
                    ch.close();
                } catch (java.io.IOException e) {
                    // Its daemon was killed: "Transport endpoint is not connected" is the expected answer.
                }
            }
        }
        Map<String, Throwable> failures = new TreeMap<>();
        summary.getFailures().forEach(f -> failures.put(f.getTestIdentifier().getDisplayName(), f.getException()));
        assertEquals(List.of("failsWhileMounted()", "leaksAMountTheExtensionWasNotTold()", "leavesABusyMount()"),
                new ArrayList<>(failures.keySet()),
                () -> "the fixture's failures: " + failures);
        Throwable deliberate = failures.get("failsWhileMounted()");
        assertEquals("deliberate failure with two mounts up", deliberate.getMessage(),
                "the test's own failure comes first, the teardown does not replace it");
        Throwable busy = failures.get("leavesABusyMount()");
        assertTrue(busy.getMessage().contains("did not exit") && busy.getMessage().contains("killed"),
                () -> "a daemon kept alive by a lazily unmounted busy mount is killed and reported: " + busy);

        Throwable leak = failures.get("leaksAMountTheExtensionWasNotTold()");
        assertTrue(leak.getMessage().contains("left behind"), () -> "an unknown mount is found and reported: " + leak);

        assertEquals(5, MOUNT_POINTS.size());
        for (Path mp : MOUNT_POINTS) {
            assertFalse(MountInfo.isMounted(mp), mp + " is still mounted");
        }
        assertEquals(4, DAEMONS.size());
        for (Daemon d : DAEMONS) {
            assertTrue(d.isGone(), d + " still runs");
        }
        for (Path root : ROOTS) {
            assertFalse(Files.exists(root), root + " was not deleted");
            assertEquals(List.of(), Daemon.mentioning(root));
        }
    }
}
