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
        Backings b = new Backings();
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
                return nextId++;
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
    void everyOpenOfANodeSharesOneBackingClosedWithTheLastRelease() {
        Backings b = backings();
        Node n = node("f", 5);
        assertEquals(1, b.opened(n, file(upper, 20), true));
        assertEquals(1, b.opened(n, file(upper, 21), true), "the same backing, not another");
        b.released(n);
        assertEquals(List.of("open 20"), calls);
        b.released(n);
        assertEquals(List.of("open 20", "close 1"), calls);
        assertEquals(2, b.opened(n, file(upper, 22), true), "a new first open makes a new backing");
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
        b.released(n);
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
        b.released(other);
        assertEquals(List.of("open 20", "open 21", "close 1"), calls);
        CompletableFuture<Integer> second = CompletableFuture.supplyAsync(() -> b.opened(slow, file(upper, 22), true));
        Thread.sleep(50);
        assertFalse(second.isDone(), "an open of the same node waits for its first open's decision");
        proceed.countDown();
        assertEquals(2, first.get(10, TimeUnit.SECONDS));
        assertEquals(2, second.get(10, TimeUnit.SECONDS), "and then shares its backing");
        b.released(slow);
        b.released(slow);
        assertEquals(List.of("open 20", "open 21", "close 1", "close 2"), calls);
    }
}
