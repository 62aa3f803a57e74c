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
import java.util.Set;
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
    void aCopyUpMakesTheObjectStaleAndTheParentsListingChangedAndADirectoryItsParentStale() {
        Node d = t.lookedUp(root, "d", 10, DIR, false);
        Node f = t.lookedUp(d, "f", 11, FILE, false);
        assertArrayEquals(new long[] {f.id}, t.copiedUp("d/f"), "a file: its parent shows only another ctime");
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

    /** index=on: the names of a lower hard link are nodes of their own, found by inode number. */
    @Test
    void theOtherNamesOfAnInodeFollowLookupRenameUnlinkForgetCopyUpAndLink() {
        NodeTable ix = new NodeTable(2, true);
        Node r = ix.root();
        Node a = ix.lookedUp(r, "a", 50, FILE, false);
        Node b = ix.lookedUp(r, "b", 50, FILE, false);
        Node d = ix.lookedUp(r, "d", 51, DIR, false);
        Node c = ix.lookedUp(d, "c", 50, FILE, false);
        assertEquals(Set.of(b.id, c.id), ids(ix.othersOfInode(a)));
        assertEquals(Set.of(), ids(ix.othersOfInode(d)), "directories are not names of a lower hard link");

        ix.renamed(d, "c", r, "e", false);
        assertEquals(Set.of(b.id, c.id), ids(ix.othersOfInode(a)), "a rename keeps the node and its number");
        ix.removed(r, "b");
        assertEquals(Set.of(b.id, c.id), ids(ix.othersOfInode(a)),
                "a name removed while the kernel holds it still has descriptors to tell");
        ix.forget(b.id, 1);
        assertEquals(Set.of(c.id), ids(ix.othersOfInode(a)), "a forgotten name leaves");

        ix.observed(a, 70);
        assertEquals(Set.of(), ids(ix.othersOfInode(a)), "copied up to a number of its own");
        assertEquals(Set.of(), ids(ix.othersOfInode(c)));
        Node f = ix.linked(c, r, "f", 70);
        assertSame(c, f);
        assertEquals(Set.of(c.id), ids(ix.othersOfInode(a)), "linked to the copy: the copy's number");

        ix.forget(a.id, 1);
        ix.forget(c.id, 2);
        ix.forget(d.id, 1);
        assertEquals(1, ix.size());
        assertEquals(0, ix.inodesTracked(), "nothing kept for what the kernel forgot");
    }

    @Test
    void aForgottenNameLookedUpAgainIsFoundByItsNumberAgain() {
        NodeTable ix = new NodeTable(2, true);
        Node r = ix.root();
        Node d = ix.lookedUp(r, "d", 10, DIR, false);
        Node a = ix.lookedUp(d, "a", 50, FILE, false);
        Node b = ix.lookedUp(r, "b", 50, FILE, false);
        ix.opened(a, 7);
        ix.forget(a.id, 1);
        assertEquals(Set.of(), ids(ix.othersOfInode(b)), "dropped, though held by its handle");
        assertSame(a, ix.lookedUp(d, "a", 50, FILE, false));
        assertEquals(Set.of(a.id), ids(ix.othersOfInode(b)));
    }

    /** Random operations on an index=on table: the per-inode map answers what a walk of every node would. */
    @Test
    void thePerInodeMapAgreesWithAWalkOfEveryNode() {
        NodeTable ix = new NodeTable(2, true);
        Node r = ix.root();
        java.util.Random random = new java.util.Random(13);
        // The nodes the table holds (a node forgotten and released is never handed out again).
        Set<Node> seen = new java.util.LinkedHashSet<>();
        java.util.Map<Node, Integer> types = new java.util.HashMap<>(); // a node keeps the type it was made with
        for (int step = 0; step < 3_000; step++) {
            String name = "n" + random.nextInt(12);
            long ino = 100 + random.nextInt(4);
            switch (random.nextInt(6)) {
                case 0, 1 -> {
                    int mode = random.nextInt(5) == 0 ? DIR : FILE;
                    Node n = ix.lookedUp(r, name, ino, mode, false);
                    seen.add(n);
                    types.putIfAbsent(n, mode);
                }
                case 2 -> ix.removed(r, name);
                case 3 -> ix.renamed(r, name, r, "n" + random.nextInt(12), random.nextBoolean());
                case 4 -> {
                    Node n = ix.child(r, name);
                    if (n != null) {
                        ix.observed(n, ino);
                    }
                }
                default -> {
                    if (!seen.isEmpty()) {
                        Node n = List.copyOf(seen).get(random.nextInt(seen.size()));
                        ix.forget(n.id, random.nextBoolean() ? 1 : ix.lookups(n));
                    }
                }
            }
            seen.removeIf(n -> ix.get(n.id) == null && ix.path(n) == null);
            // The walk: every live regular-file node, grouped by inode number.
            java.util.Map<Long, Set<Long>> walked = new java.util.HashMap<>();
            for (Node m : seen) {
                if (ix.get(m.id) != null && types.get(m) == FILE) {
                    walked.computeIfAbsent(ix.ino(m), k -> new java.util.HashSet<>()).add(m.id);
                }
            }
            for (Node n : seen) {
                if (ix.get(n.id) == null) {
                    continue;
                }
                Set<Long> others = new java.util.HashSet<>(
                        types.get(n) == FILE ? walked.getOrDefault(ix.ino(n), Set.of()) : Set.of());
                others.remove(n.id);
                assertEquals(others, ids(ix.othersOfInode(n)), "step " + step + ", " + n);
            }
        }
        for (Node n : List.copyOf(seen)) {
            ix.forget(n.id, Long.MAX_VALUE / 2);
        }
        assertEquals(0, ix.inodesTracked());
    }

    @Test
    void withoutIndexNoNodeIsAnotherNodesObject() {
        Node a = t.lookedUp(root, "a", 50, FILE, false);
        t.lookedUp(root, "b", 50, FILE, false);
        assertEquals(0, t.othersOfInode(a).length);
        assertEquals(0, t.inodesTracked());
    }

    private static Set<Long> ids(long[] ids) {
        Set<Long> out = new java.util.HashSet<>();
        for (long id : ids) {
            assertTrue(out.add(id), "each id once");
        }
        return out;
    }
}
