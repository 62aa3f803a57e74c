package dev.layerfs.fuse;

/**
 * Gives the Java heap a burst of requests left behind back to the system once the daemon is idle.
 *
 * <p>The serial collector grows the old generation during a burst (a tree walk keeps a node per name until the
 * kernel forgets it) and shrinks it only at a full collection, which a daemon that has gone quiet never reaches
 * by itself, however little of it is live. A thread
 * looks at the heap every {@link #PERIOD_MILLIS} ms. Free heap that went up, or a heap that changed size, means a
 * collection ran since its last look: the daemon has allocated at least a young generation's worth. When, after
 * that, nothing at all was allocated between two looks (no request was served), it asks for one full collection
 * (a few milliseconds on a heap this small), which shrinks the heap to the launcher's {@code MaxHeapFreeRatio}.
 * So a mount is collected once when it goes idle after real work, never again while it stays idle, and a trickle
 * of requests costs at most one full collection per young generation it fills.
 */
public final class IdleHeapTrim {
    static final long PERIOD_MILLIS = 1_000;

    private IdleHeapTrim() {}

    /** Starts the thread (a daemon thread: it never holds the JVM up); once per JVM. */
    public static synchronized void start() {
        if (started) {
            return;
        }
        started = true;
        Thread t = new Thread(IdleHeapTrim::run, "heap-trim");
        t.setDaemon(true);
        t.setPriority(Thread.MIN_PRIORITY);
        t.start();
    }

    private static boolean started;

    private static void run() {
        Runtime rt = Runtime.getRuntime();
        Watch watch = new Watch(rt.totalMemory(), rt.freeMemory());
        while (true) {
            try {
                Thread.sleep(PERIOD_MILLIS);
            } catch (InterruptedException e) {
                return;
            }
            if (watch.look(rt.totalMemory(), rt.freeMemory())) {
                System.gc();
                watch.collected(rt.totalMemory(), rt.freeMemory());
            }
        }
    }

    /** The decision, apart from the clock and the heap: fed the heap's size and free bytes at every look. */
    static final class Watch {
        private long lastTotal;
        private long lastFree;
        private boolean collectedSinceTrim;

        Watch(long total, long free) {
            lastTotal = total;
            lastFree = free;
        }

        /** Whether to collect now: nothing was allocated since the last look, and a collection ran before that. */
        boolean look(long total, long free) {
            boolean trim = false;
            if (total != lastTotal || free > lastFree) {
                collectedSinceTrim = true;
            } else if (free == lastFree && collectedSinceTrim) {
                trim = true;
            }
            lastTotal = total;
            lastFree = free;
            return trim;
        }

        /** After the full collection {@link #look} asked for: the heap as it left it. */
        void collected(long total, long free) {
            collectedSinceTrim = false;
            lastTotal = total;
            lastFree = free;
        }
    }
}
