package dev.layerfs.fuse.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.layerfs.core.error.Errno;
import dev.layerfs.core.error.FsException;
import dev.layerfs.core.handle.OpenFile;
import dev.layerfs.core.model.Layer;
import dev.layerfs.fuse.kernel.NodeTable.Node;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class BackingsTest {
    private final Layer upper = new Layer(0, Path.of("/upper"), 10, true, 1);
    private final Layer lower = new Layer(1, Path.of("/lower"), 11, false, 1);
    private final NodeTable nodes = new NodeTable(1);
    private final List<String> calls = new ArrayList<>();
    private int nextId = 1;
    private Errno refuse;

    private Backings backings() {
        Backings b = new Backings();
        b.attach(new Backings.Device() {
            @Override
            public int open(int fd) throws FsException {
                calls.add("open " + fd);
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
}
