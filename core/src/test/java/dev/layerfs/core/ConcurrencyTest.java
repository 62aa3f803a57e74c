package dev.layerfs.core;

import static dev.layerfs.core.testing.OverlayIo.create;
import static dev.layerfs.core.testing.OverlayIo.names;
import static dev.layerfs.core.testing.OverlayIo.read;
import static dev.layerfs.core.testing.OverlayIo.readAll;
import static dev.layerfs.core.testing.OverlayIo.writeAt;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.layerfs.core.handle.OpenFile;
import dev.layerfs.core.model.Caller;
import dev.layerfs.core.nativeio.Linux;
import dev.layerfs.core.testing.LowerLayersUnchanged;
import dev.layerfs.core.testing.OverlayFixture;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/** Operations from several threads at once (as FUSE runs them): nothing lost, nothing half-copied. */
@ExtendWith(LowerLayersUnchanged.class)
class ConcurrencyTest {
    static final int THREADS = 8;

    @TempDir
    Path tmp;

    OverlayFixture fx;
    ExecutorService pool;

    @BeforeEach
    void fixture() {
        fx = OverlayFixture.create(tmp);
        pool = Executors.newFixedThreadPool(THREADS);
    }

    @AfterEach
    void stop() throws Exception {
        pool.shutdownNow();
        assertTrue(pool.awaitTermination(30, TimeUnit.SECONDS));
    }

    private void runAll(List<Callable<Void>> tasks) throws Exception {
        List<Future<Void>> futures = new ArrayList<>();
        for (Callable<Void> t : tasks) {
            futures.add(pool.submit(t));
        }
        for (Future<Void> f : futures) {
            f.get(60, TimeUnit.SECONDS);
        }
    }

    @Test
    void namespaceOperationsFromManyThreads() throws Exception {
        fx.l1().file("shared/lower/f", "lower");
        for (int t = 0; t < THREADS; t++) {
            fx.l2().dir("shared/lower/t" + t);
        }
        Overlay ov = fx.open();
        CyclicBarrier start = new CyclicBarrier(THREADS);
        List<Callable<Void>> tasks = new ArrayList<>();
        for (int t = 0; t < THREADS; t++) {
            String dir = "shared/lower/t" + t;
            tasks.add(() -> {
                start.await();
                for (int i = 0; i < 25; i++) {
                    String f = dir + "/f" + i;
                    create(ov, f, "data " + i);
                    ov.chmod("shared/lower/f", 0600 + (i % 8));
                    ov.rename(f, f + ".moved", 0);
                    assertEquals("data " + i, read(ov, f + ".moved"));
                    names(ov, "shared/lower");
                    if (i % 2 == 0) {
                        ov.unlink(f + ".moved");
                    }
                }
                return null;
            });
        }
        runAll(tasks);
        for (int t = 0; t < THREADS; t++) {
            assertEquals(12, names(ov, "shared/lower/t" + t).size());
        }
        assertEquals("lower", read(ov, "shared/lower/f"));
        assertEquals(List.of(), fx.scratch().list(""));
    }

    @Test
    void readOnlyHandlesOpenedDuringACopyUpSeeTheNewData() throws Exception {
        int rounds = 300;
        for (int i = 0; i < rounds; i++) {
            fx.l1().file("f" + i, "old");
        }
        Overlay ov = fx.open();
        CyclicBarrier both = new CyclicBarrier(2);
        for (int i = 0; i < rounds; i++) {
            String p = "f" + i;
            Future<OpenFile> reader = pool.submit(() -> {
                both.await();
                return ov.open(p, Linux.O_RDONLY);
            });
            Future<Void> writer = pool.submit(() -> {
                both.await();
                OpenFile w = ov.open(p, Linux.O_WRONLY | Linux.O_TRUNC);
                writeAt(ov, w, "new", 0);
                ov.release(w);
                return null;
            });
            writer.get(30, TimeUnit.SECONDS);
            OpenFile r = reader.get(30, TimeUnit.SECONDS);
            try {
                assertEquals("new", readAll(ov, r), "round " + i + ": a read-only handle stayed on the lower copy");
            } finally {
                ov.release(r);
            }
        }
    }

    @Test
    void concurrentCopyUpsOfOneFileCopyItOnce() throws Exception {
        fx.l1().file("deep/er/f", "content");
        Overlay ov = fx.open();
        CyclicBarrier start = new CyclicBarrier(THREADS);
        List<Callable<Void>> tasks = new ArrayList<>();
        for (int t = 0; t < THREADS; t++) {
            int id = t;
            tasks.add(() -> {
                start.await();
                switch (id % 4) {
                    case 0 -> ov.chmod("deep/er/f", 0600);
                    case 1 -> ov.setxattr("deep/er/f", "user.t" + id, new byte[] {1}, 0);
                    case 2 -> ov.release(ov.open("deep/er/f", Linux.O_RDWR));
                    default -> ov.mkdir("deep/er/d" + id, 0755, Caller.ROOT);
                }
                return null;
            });
        }
        runAll(tasks);
        assertEquals("content", fx.upper().read("deep/er/f"));
        assertEquals(List.of(), fx.scratch().list(""));
    }

    @Test
    void releasingAHandleWhileItIsMovedLeaksNothing() throws Exception {
        int rounds = 400;
        java.util.Random random = new java.util.Random(7);
        for (int i = 0; i < rounds; i++) {
            fx.l1().file("f" + i, "old");
        }
        Overlay ov = fx.open();
        CyclicBarrier both = new CyclicBarrier(2);
        for (int i = 0; i < rounds; i++) {
            String p = "f" + i;
            OpenFile r = ov.open(p, Linux.O_RDONLY);
            long delay = random.nextInt(400_000);
            Future<Void> releaser = pool.submit(() -> {
                both.await();
                // Spread the release over the copy-up (which takes some hundred microseconds) to hit the
                // moment the handle is being moved.
                long until = System.nanoTime() + delay;
                while (System.nanoTime() < until) {
                    Thread.onSpinWait();
                }
                ov.release(r);
                return null;
            });
            Future<Void> copier = pool.submit(() -> {
                both.await();
                ov.chmod(p, 0600);
                return null;
            });
            releaser.get(30, TimeUnit.SECONDS);
            copier.get(30, TimeUnit.SECONDS);
        }
        ov.close();
        assertEquals(List.of(), dev.layerfs.core.testing.FsAssert.descriptorsUnder(tmp));
    }
}
