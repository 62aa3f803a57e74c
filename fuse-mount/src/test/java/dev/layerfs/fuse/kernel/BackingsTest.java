package dev.layerfs.fuse.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.layerfs.core.error.Errno;
import dev.layerfs.core.error.FsException;
import dev.layerfs.core.handle.OpenFile;
import dev.layerfs.core.model.Layer;
import dev.layerfs.fuse.kernel.NodeTable.Node;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class BackingsTest {
    private final Layer upper = new Layer(0, Path.of("/upper"), 10, true, 1);
    private final Layer lower = new Layer(1, Path.of("/lower"), 11, false, 1);
    private final NodeTable nodes = new NodeTable(1);
    private final List<String> calls = Collections.synchronizedList(new ArrayList<>());
    /** Where set, registering the backing of this descriptor waits for {@link #proceed}. */
    private volatile int slowFd = -1;
    private final CountDownLatch registering = new CountDownLatch(1);
    private final CountDownLatch proceed = new CountDownLatch(1);
    private int nextId = 1;
    private Errno refuse;

    private Backings backings() {
        return backings(Backings.DEFAULT_KEPT);
    }

    private Backings backings(int maxKept) {
        Backings b = new Backings(maxKept);
        b.attach(new Backings.Device() {
            @Override
            public int open(int fd) throws FsException {
                calls.add("open " + fd);
                if (fd == slowFd) {
                    registering.countDown();
                    try {
                        proceed.await();
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                }
                if (refuse != null) {
                    throw FsException.of(refuse, "FUSE_DEV_IOC_BACKING_OPEN", "fd " + fd);
                }
                synchronized (calls) {
                    return nextId++;
                }
            }

            @Override
            public void close(int backingId) {
                calls.add("close " + backingId);
            }
        });
        return b;
    }

    private Node node(String name, long ino) {
        return nodes.lookedUp(nodes.root(), name, ino, 0100644, false);
    }

    private static OpenFile file(Layer l, int fd) {
        return new OpenFile("f", 0, fd, l);
    }

    @Test
    void everyOpenOfANodeSharesOneBackingClosedWithTheLastReleaseOfANodeNotKept() {
        Backings b = backings();
        Node n = node("f", 5);
        assertEquals(1, b.opened(n, file(upper, 20), true));
        assertEquals(1, b.opened(n, file(upper, 21), true), "the same backing, not another");
        b.released(n, false);
        assertEquals(List.of("open 20"), calls);
        b.released(n, false);
        assertEquals(List.of("open 20", "close 1"), calls);
        assertEquals(2, b.opened(n, file(upper, 22), true), "a new first open makes a new backing");
    }

    @Test
    void theBackingOfANodeStillNamedIsKeptAfterItsLastReleaseAndReusedWithNoIoctl() {
        Backings b = backings();
        Node n = node("f", 5);
        assertEquals(1, b.opened(n, file(upper, 20), true));
        b.released(n, true);
        assertEquals(1, b.kept());
        assertEquals(1, b.opened(n, file(upper, 21), true), "the kept backing");
        assertEquals(0, b.kept(), "in use, not idle");
        assertEquals(1, b.opened(n, file(upper, 22), true));
        b.released(n, true);
        b.released(n, true);
        assertEquals(List.of("open 20"), calls, "one BACKING_OPEN, no BACKING_CLOSE");
        b.closeAll();
        assertEquals(List.of("open 20", "close 1"), calls, "unmount closes it");
        assertEquals(0, b.kept());
        assertEquals(2, b.opened(n, file(upper, 23), true));
    }

    @Test
    void aKeptBackingOnAnotherLayerIsClosedAndReplacedNotReused() {
        Backings b = backings();
        Node n = node("f", 5);
        assertEquals(1, b.opened(n, file(lower, 20), true));
        b.released(n, true);
        assertEquals(2, b.opened(n, file(upper, 21), true), "the upper copy gets its own backing");
        assertEquals(List.of("open 20", "close 1", "open 21"), calls);
        b.released(n, true);
        assertEquals(Backings.SERVED, b.opened(n, file(upper, 22), false), "served now: the kept one goes");
        assertEquals(List.of("open 20", "close 1", "open 21", "close 2"), calls);
        b.released(n, true);
        assertEquals(0, b.kept(), "a served node keeps nothing");
    }

    @Test
    void aCopyUpDropsAKeptLowerBackingAndOneInUseAtItsLastRelease() {
        Backings b = backings();
        Node idle = node("idle", 5);
        Node busy = node("busy", 6);
        Node up = node("up", 7);
        assertEquals(1, b.opened(idle, file(lower, 20), true));
        b.released(idle, true);
        assertEquals(2, b.opened(busy, file(lower, 21), true));
        assertEquals(3, b.opened(up, file(upper, 22), true));
        b.released(up, true);
        b.copiedUp(idle);
        b.copiedUp(busy);
        b.copiedUp(up);
        assertEquals(List.of("open 20", "open 21", "open 22", "close 1"), calls, "an upper backing is the copy's");
        assertEquals(2, b.opened(busy, file(lower, 23), true), "opens on the old file still share it");
        b.released(busy, true);
        b.released(busy, true);
        assertEquals(List.of("open 20", "open 21", "open 22", "close 1", "close 2"), calls, "not kept");
        assertEquals(1, b.kept());
    }

    @Test
    void aNodeThatLostItsNameOrWasForgottenKeepsNothing() {
        Backings b = backings();
        Node n = node("f", 5);
        assertEquals(1, b.opened(n, file(upper, 20), true));
        b.released(n, true);
        b.drop(n);
        assertEquals(List.of("open 20", "close 1"), calls);
        assertEquals(0, b.kept());
        assertEquals(2, b.opened(n, file(upper, 21), true));
        b.drop(n);
        assertEquals(2, b.opened(n, file(upper, 22), true), "a dropped backing still serves the opens beside it");
        b.released(n, true);
        b.released(n, true);
        assertEquals(List.of("open 20", "close 1", "open 21", "close 2"), calls, "closed at the last release");
        assertEquals(0, b.kept());
    }

    @Test
    void theKeptIdsAreCappedLeastRecentlyReleasedFirst() {
        Backings b = backings(2);
        Node x = node("x", 5);
        Node y = node("y", 6);
        Node z = node("z", 7);
        assertEquals(1, b.opened(x, file(upper, 20), true));
        assertEquals(2, b.opened(y, file(upper, 21), true));
        assertEquals(3, b.opened(z, file(upper, 22), true));
        b.released(x, true);
        b.released(y, true);
        assertEquals(1, b.opened(x, file(upper, 23), true), "x reused: now the most recent");
        b.released(x, true);
        b.released(z, true);
        assertEquals(2, b.kept());
        assertEquals(List.of("open 20", "open 21", "open 22", "close 2"), calls, "y, the least recent, closed");
        assertEquals(4, b.opened(y, file(upper, 24), true));
    }

    @Test
    void keptIdsAreClosedOnceEachWhateverTheRaceOfOpensReleasesAndDrops() throws Exception {
        Backings b = backings(8);
        List<Node> ns = new ArrayList<>();
        for (int i = 0; i < 32; i++) {
            ns.add(node("n" + i, 100 + i));
        }
        List<CompletableFuture<Void>> workers = new ArrayList<>();
        for (int t = 0; t < 4; t++) {
            int seed = t;
            workers.add(CompletableFuture.runAsync(() -> {
                java.util.Random rnd = new java.util.Random(seed);
                for (int i = 0; i < 20_000; i++) {
                    Node n = ns.get(rnd.nextInt(ns.size()));
                    switch (rnd.nextInt(3)) {
                        case 0 -> b.drop(n);
                        default -> {
                            int id = b.opened(n, file(upper, 1000), true);
                            assertTrue(id > 0);
                            b.released(n, true);
                        }
                    }
                }
            }));
        }
        for (CompletableFuture<Void> w : workers) {
            w.get(60, TimeUnit.SECONDS);
        }
        assertTrue(b.kept() <= 8);
        b.closeAll();
        assertEquals(0, b.kept());
        List<String> opens = calls.stream().filter(c -> c.startsWith("open")).toList();
        List<String> closes = calls.stream().filter(c -> c.startsWith("close")).toList();
        assertEquals(opens.size(), closes.size(), "every id registered is closed");
        assertEquals(closes.size(), new java.util.HashSet<>(closes).size(), "and only once");
    }

    @Test
    void aNodeWithAServedOpenStaysServed() {
        Backings b = backings();
        Node n = node("f", 5);
        assertEquals(Backings.SERVED, b.opened(n, file(lower, 20), false));
        assertEquals(Backings.SERVED, b.opened(n, file(upper, 21), true), "no mix of served and passed through");
        assertEquals(List.of(), calls);
    }

    @Test
    void anOpenOnAnotherLayerThanTheBackingConflicts() {
        Backings b = backings();
        Node n = node("f", 5);
        assertEquals(1, b.opened(n, file(lower, 20), true));
        assertEquals(Backings.CONFLICT, b.opened(n, file(upper, 21), true), "never the lower backing for the upper copy");
        b.released(n, false);
        assertEquals(List.of("open 20", "close 1"), calls, "the conflicting open took no share");
    }

    @Test
    void aRefusedBackingServesTheNodeAndEpermStopsFurtherAttempts() {
        Backings b = backings();
        refuse = Errno.ELOOP;
        assertEquals(Backings.SERVED, b.opened(node("a", 5), file(upper, 20), true));
        assertEquals(Backings.SERVED, b.opened(node("b", 6), file(upper, 21), true));
        refuse = Errno.EPERM;
        assertEquals(Backings.SERVED, b.opened(node("c", 7), file(upper, 22), true));
        assertEquals(Backings.SERVED, b.opened(node("d", 8), file(upper, 23), true));
        assertEquals(List.of("open 20", "open 21", "open 22"), calls);
    }

    @Test
    void registeringOneNodesBackingHoldsUpNoOtherNode() throws Exception {
        Backings b = backings();
        Node slow = node("slow", 5);
        Node other = node("other", 6);
        slowFd = 20;
        CompletableFuture<Integer> first = CompletableFuture.supplyAsync(() -> b.opened(slow, file(upper, 20), true));
        assertTrue(registering.await(10, TimeUnit.SECONDS));
        assertEquals(1, b.opened(other, file(upper, 21), true), "another node is not held up by the ioctl");
        b.released(other, false);
        assertEquals(List.of("open 20", "open 21", "close 1"), calls);
        CompletableFuture<Integer> second = CompletableFuture.supplyAsync(() -> b.opened(slow, file(upper, 22), true));
        Thread.sleep(50);
        assertFalse(second.isDone(), "an open of the same node waits for its first open's decision");
        proceed.countDown();
        assertEquals(2, first.get(10, TimeUnit.SECONDS));
        assertEquals(2, second.get(10, TimeUnit.SECONDS), "and then shares its backing");
        b.released(slow, false);
        b.released(slow, false);
        assertEquals(List.of("open 20", "open 21", "close 1", "close 2"), calls);
    }
}
