package dev.layerfs.fuse.kernel;

import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.concurrent.ConcurrentLinkedDeque;

/**
 * A worker's request and reply buffers, kept for the next worker once a session ends: a process serving many
 * mounts one after another (the resident daemon) allocates them, and the JVM zeroes them, once rather than at
 * every mount. A set's pages are given back to the kernel (MADV_DONTNEED) when it is made, so it holds memory
 * only for the pages its requests and replies wrote. Of the sets put back, the {@link #KEPT_WARM} most recent
 * keep their pages, ready for the workers of the next mount; the others give them back and wait in the pool
 * holding none. Giving pages back at every unmount cost the resident daemon more than the requests of a
 * container's start: each MADV_DONTNEED flushed the other CPU's TLB (an interrupt there) and the next mount's
 * workers faulted the pages in again (see README, "One daemon for many mounts").
 */
final class WorkerBuffers {
    /**
     * How many sets put back keep their pages: the workers of two mounts, at most a few MiB (a set holds what its
     * largest request and reply wrote).
     */
    static final int KEPT_WARM = 4;
    /** Sets that kept their pages, the most recently put back first; guarded by the class. */
    private static final ArrayDeque<WorkerBuffers> WARM = new ArrayDeque<>();
    /** Sets whose pages were given back. */
    private static final ConcurrentLinkedDeque<WorkerBuffers> FREE = new ConcurrentLinkedDeque<>();
    /** Requests: header, write_in and the largest write, with room to spare (at least FUSE_MIN_READ_BUFFER). */
    static final int REQUEST_BUFFER = Math.max(FuseAbi.MIN_READ_BUFFER, InitNegotiation.MAX_WRITE + 8192);
    /** Replies: the out header and the largest read. */
    static final int REPLY_BUFFER = InitNegotiation.MAX_WRITE + 4096;
    /** Notifications: the out header and the largest notify struct sent. */
    static final int NOTIFY_BUFFER = 64;

    /** Requests; a WRITE's data lands on a page boundary, so O_DIRECT files are written from it without a copy. */
    final ByteBuffer in;
    final ReplyWriter out;
    final ReplyWriter notes;
    /** The native addresses of {@link #in} and of {@link #out}'s and {@link #notes}' memory (read(2), write(2)). */
    final long inAddress;
    final long outAddress;
    final long notesAddress;

    private WorkerBuffers() {
        in = ReplyWriter.pageAlignedAt(FuseAbi.WRITE_DATA_OFFSET, REQUEST_BUFFER);
        out = new ReplyWriter(REPLY_BUFFER);
        notes = new ReplyWriter(NOTIFY_BUFFER);
        KernelCalls calls = KernelCalls.get();
        inAddress = calls.address(in);
        outAddress = calls.address(out.memory());
        notesAddress = calls.address(notes.memory());
        releasePages();
    }

    /** A set from the pool, one that kept its pages first, or a new one. */
    static WorkerBuffers take() {
        WorkerBuffers b;
        synchronized (WorkerBuffers.class) {
            b = WARM.pollFirst();
        }
        if (b == null) {
            b = FREE.poll();
        }
        return b != null ? b : new WorkerBuffers();
    }

    /**
     * Back to the pool: with its pages, or, beyond the {@link #KEPT_WARM} most recent, without them; the worker
     * must not use it afterwards.
     */
    void giveBack() {
        WorkerBuffers cooled;
        synchronized (WorkerBuffers.class) {
            WARM.addFirst(this);
            cooled = WARM.size() > KEPT_WARM ? WARM.pollLast() : null;
        }
        if (cooled != null) {
            cooled.releasePages();
            FREE.push(cooled);
        }
    }

    private void releasePages() {
        KernelCalls calls = KernelCalls.get();
        calls.releasePages(in);
        calls.releasePages(out.memory());
    }
}
