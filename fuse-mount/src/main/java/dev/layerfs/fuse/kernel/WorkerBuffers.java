package dev.layerfs.fuse.kernel;

import java.nio.ByteBuffer;
import java.util.concurrent.ConcurrentLinkedDeque;

/**
 * A worker's request and reply buffers, kept for the next worker once a session ends: a process serving many
 * mounts one after another (the resident daemon) allocates them, and the JVM zeroes them, once rather than at
 * every mount. Their pages are given back to the kernel (MADV_DONTNEED) when they are made and whenever they are
 * put back, so a set holds memory only for the pages its requests and replies wrote, and a set waiting in the
 * pool none.
 */
final class WorkerBuffers {
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

    /** A set from the pool, or a new one. */
    static WorkerBuffers take() {
        WorkerBuffers b = FREE.poll();
        return b != null ? b : new WorkerBuffers();
    }

    /** Back to the pool, its pages to the kernel; the worker must not use it afterwards. */
    void giveBack() {
        releasePages();
        FREE.push(this);
    }

    private void releasePages() {
        KernelCalls calls = KernelCalls.get();
        calls.releasePages(in);
        calls.releasePages(out.memory());
    }
}
