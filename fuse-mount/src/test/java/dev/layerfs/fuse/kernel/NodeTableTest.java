package dev.layerfs.fuse.kernel;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.layerfs.fuse.kernel.NodeTable.Node;
import java.util.List;
import org.junit.jupiter.api.Test;

class NodeTableTest {
    private static final int FILE = 0100644;
    private static final int DIR = 0040755;

    private final NodeTable t = new NodeTable(2);
    private final Node root = t.root();

    @Test
    void rootIsNodeOneWithTheEmptyPath() {
        assertEquals(FuseAbi.ROOT_ID, root.id);
        assertEquals("", t.path(root));
        assertSame(root, t.get(1));
    }

    @Test
    void lookupCountsAndForgetDropsTheNode() {
        Node d = t.lookedUp(root, "d", 10, DIR, false);
        Node f = t.lookedUp(d, "f", 11, FILE, false);
        assertSame(f, t.lookedUp(d, "f", 11, FILE, false));
        assertEquals(2, t.lookups(f));
        assertEquals("d/f", t.path(f));
        t.forget(f.id, 1);
        assertSame(f, t.get(f.id));
        t.forget(f.id, 1);
        assertNull(t.get(f.id));
        assertNull(t.child(d, "f"));
        t.forget(d.id, 1);
        assertEquals(1, t.size());
    }

    @Test
    void memoryIsBoundedByWhatTheKernelHolds() {
        for (int i = 0; i < 10_000; i++) {
            Node n = t.lookedUp(root, "f" + i, 100 + i, FILE, false);
            t.forget(n.id, 1);
        }
        assertEquals(1, t.size());
    }

    @Test
    void aCopyUpMakesTheObjectAndItsParentStaleAndTheParentsListingChanged() {
        Node d = t.lookedUp(root, "d", 10, DIR, false);
        Node f = t.lookedUp(d, "f", 11, FILE, false);
        assertArrayEquals(new long[] {f.id, d.id}, t.copiedUp("d/f"));
        assertTrue(t.takeListingChanged(d));
        assertFalse(t.takeListingChanged(d), "once");
        assertArrayEquals(new long[] {d.id}, t.copiedUp("d/g"), "a name the kernel does not hold: its parent");
        assertArrayEquals(new long[0], t.copiedUp("x/y"), "nothing the kernel holds");
        assertArrayEquals(new long[] {d.id, root.id}, t.copiedUp("d"));
    }

    @Test
    void theLastNameOfASpecialFileOrDirectoryLeavesItNameless() {
        int fifo = 0010644;
        Node p = t.lookedUp(root, "p", 20, fifo, false);
        Node f = t.lookedUp(root, "f", 21, FILE, false);
        assertSame(p, t.namelessAfterRemoval(root, "p"));
        assertNull(t.namelessAfterRemoval(root, "f"), "a regular file's descriptors come with handles");
        assertNull(t.namelessAfterRemoval(root, "missing"));
        t.removed(root, "p");
        assertTrue(t.nameless(p));
        assertFalse(t.nameless(f));
        assertFalse(t.nameless(root));
    }

    @Test
    void upperHardLinksAreOneNode() {
        Node a = t.lookedUp(root, "a", 50, FILE, true);
        Node b = t.lookedUp(root, "b", 50, FILE, true);
        assertSame(a, b);
        assertEquals(List.of("a", "b"), t.paths(a));
        t.removed(root, "a");
        assertEquals("b", t.path(a));
    }

    @Test
    void linkJoinsTheSourceNodeEvenAfterACopyUpChangedItsInode() {
        Node a = t.lookedUp(root, "a", 50, FILE, false);
        Node b = t.linked(a, root, "b", 60);
        assertSame(a, b);
        assertEquals(60, t.ino(a));
        assertSame(a, t.lookedUp(root, "a", 60, FILE, true));
        assertSame(a, t.lookedUp(root, "b", 60, FILE, true));
        assertEquals(4, t.lookups(a));
    }

    @Test
    void aCopyUpKeepsTheNodeOfASingleName() {
        Node a = t.lookedUp(root, "a", 50, FILE, false);
        assertSame(a, t.lookedUp(root, "a", 70, FILE, false));
        assertEquals(70, t.ino(a));
    }

    @Test
    void lowerHardLinksAreANodePerName() {
        Node a = t.lookedUp(root, "a", 50, FILE, false);
        Node b = t.lookedUp(root, "b", 50, FILE, false);
        assertNotEquals(a.id, b.id);
        assertSame(a, t.lookedUp(root, "a", 70, FILE, false));
        assertEquals(70, t.ino(a));
        assertEquals(50, t.ino(b));
    }

    @Test
    void hardLinksThatDivergeSplit() {
        Node a = t.lookedUp(root, "a", 50, FILE, true);
        t.lookedUp(root, "b", 50, FILE, true);
        Node a2 = t.lookedUp(root, "a", 70, FILE, false);
        assertNotEquals(a.id, a2.id);
        assertEquals(List.of("b"), t.paths(a));
        assertEquals(List.of("a"), t.paths(a2));
    }

    @Test
    void aNewTypeUnderANameIsANewNode() {
        Node a = t.lookedUp(root, "a", 50, FILE, false);
        Node d = t.lookedUp(root, "a", 50, DIR, false);
        assertNotEquals(a.id, d.id);
        assertNull(t.path(a));
    }

    @Test
    void renameMovesTheSubtree() {
        Node d = t.lookedUp(root, "d", 10, DIR, false);
        Node e = t.lookedUp(root, "e", 12, DIR, false);
        Node f = t.lookedUp(d, "f", 11, FILE, false);
        t.renamed(root, "d", e, "d2", false);
        assertEquals("e/d2/f", t.path(f));
        assertNull(t.child(root, "d"));
    }

    @Test
    void renameOverATargetLeavesItNameless() {
        Node a = t.lookedUp(root, "a", 1, FILE, false);
        Node b = t.lookedUp(root, "b", 2, FILE, false);
        t.renamed(root, "a", root, "b", false);
        assertEquals("b", t.path(a));
        assertNull(t.path(b));
    }

    @Test
    void exchangeSwapsNames() {
        Node a = t.lookedUp(root, "a", 1, FILE, false);
        Node b = t.lookedUp(root, "b", 2, DIR, false);
        t.renamed(root, "a", root, "b", true);
        assertEquals("b", t.path(a));
        assertEquals("a", t.path(b));
    }

    @Test
    void aNamelessInodeNumberIsNotReused() {
        Node a = t.lookedUp(root, "a", 5, FILE, false);
        t.removed(root, "a");
        Node c = t.lookedUp(root, "c", 5, FILE, false);
        assertNotEquals(a.id, c.id);
    }

    @Test
    void openHandlesOutliveForget() {
        Node a = t.lookedUp(root, "a", 5, FILE, false);
        t.opened(a, 77);
        t.removed(root, "a");
        assertEquals(77, t.anyHandle(a));
        t.closed(a, 77);
        assertEquals(-1, t.anyHandle(a));
    }

    @Test
    void aForgottenDirectoryKeepsThePathOfALateChild() {
        Node d = t.lookedUp(root, "d", 10, DIR, false);
        Node f = t.lookedUp(d, "f", 11, FILE, false);
        t.forget(d.id, 1);
        assertEquals("d/f", t.path(f));
        t.forget(f.id, 1);
        assertNull(t.child(root, "d"));
        assertEquals(1, t.size());
    }

    @Test
    void aForgottenNodeLookedUpAgainIsLive() {
        Node d = t.lookedUp(root, "d", 10, DIR, false);
        t.lookedUp(d, "f", 11, FILE, false);
        t.forget(d.id, 1);
        Node again = t.lookedUp(root, "d", 10, DIR, false);
        assertSame(again, t.get(again.id));
    }
}
