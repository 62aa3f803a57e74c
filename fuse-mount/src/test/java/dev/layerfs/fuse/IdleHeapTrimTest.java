package dev.layerfs.fuse;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class IdleHeapTrimTest {
    private static final long MIB = 1 << 20;

    @Test
    void anIdleDaemonThatNeverCollectedIsLeftAlone() {
        IdleHeapTrim.Watch w = new IdleHeapTrim.Watch(8 * MIB, 6 * MIB);
        for (int i = 0; i < 10; i++) {
            assertFalse(w.look(8 * MIB, 6 * MIB), "look " + i);
        }
    }

    @Test
    void allocationAloneIsNotABurst() {
        IdleHeapTrim.Watch w = new IdleHeapTrim.Watch(8 * MIB, 6 * MIB);
        assertFalse(w.look(8 * MIB, 5 * MIB));
        assertFalse(w.look(8 * MIB, 4 * MIB));
        assertFalse(w.look(8 * MIB, 4 * MIB), "idle, but no collection ran: the heap did not grow");
    }

    @Test
    void aBurstIsCollectedOnceWhenTheDaemonGoesIdle() {
        IdleHeapTrim.Watch w = new IdleHeapTrim.Watch(8 * MIB, 6 * MIB);
        assertFalse(w.look(12 * MIB, 3 * MIB), "the heap grew: busy");
        assertFalse(w.look(20 * MIB, 9 * MIB), "still busy");
        assertTrue(w.look(20 * MIB, 9 * MIB), "nothing allocated since the last look after a collection");
        w.collected(9 * MIB, 5 * MIB);
        for (int i = 0; i < 5; i++) {
            assertFalse(w.look(9 * MIB, 5 * MIB), "idle again, already collected: look " + i);
        }
    }

    @Test
    void aCollectionSeenAsFreeHeapGoingUpCounts() {
        IdleHeapTrim.Watch w = new IdleHeapTrim.Watch(16 * MIB, 10 * MIB);
        assertFalse(w.look(16 * MIB, 2 * MIB));
        assertFalse(w.look(16 * MIB, 11 * MIB), "a young collection: free went up");
        assertTrue(w.look(16 * MIB, 11 * MIB));
    }

    @Test
    void aTrickleOfRequestsWithoutCollectionsNeverCollects() {
        IdleHeapTrim.Watch w = new IdleHeapTrim.Watch(16 * MIB, 10 * MIB);
        long free = 10 * MIB;
        for (int i = 0; i < 20; i++) {
            free -= 4096;
            assertFalse(w.look(16 * MIB, free), "a request allocated a little: look " + i);
            assertFalse(w.look(16 * MIB, free), "then idle, with no collection since the last trim: look " + i);
        }
    }
}
