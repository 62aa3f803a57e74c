package dev.layerfs.it.fuzz;

import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The threads that touch the fuzzer's mounts ({@code fuzz.threads}, default: the cores, at most 4; each runs one batch
 * at a time).
 * They have no supplementary groups (dropped for these threads only), so that an operation "as UID", which switches
 * the thread's fsuid and fsgid, is checked exactly as a process of that user would be. A watchdog on the caller's
 * side kills a batch's layerfs daemons when the batch makes no progress for {@link #HANG_SECONDS} (a hung request
 * then fails and the batch reports the hang).
 */
final class IoThread {
    static final long HANG_SECONDS = 120;
    static final int THREADS = Math.max(1, Integer.getInteger("fuzz.threads",
            Math.min(4, Runtime.getRuntime().availableProcessors())));

    private static final ExecutorService EXEC = Executors.newFixedThreadPool(THREADS, r -> {
        Thread t = new Thread(() -> {
            if (Sys.dropGroupsOfThisThread() < 0) {
                throw new IllegalStateException("setgroups(0) failed: " + Sys.errName(Sys.errno()));
            }
            r.run();
        }, "layerfs-fuzz-io");
        t.setDaemon(true);
        return t;
    });

    private static final Object UMASK_LOCK = new Object();
    private static int umaskUsers;
    private static int savedUmask;

    private IoThread() {}

    /** umask 022 while any batch runs (the umask is the process's): the same for every campaign. */
    static void enterUmask() {
        synchronized (UMASK_LOCK) {
            if (umaskUsers++ == 0) {
                savedUmask = Sys.C.umask(022);
            }
        }
    }

    static void exitUmask() {
        synchronized (UMASK_LOCK) {
            if (--umaskUsers == 0) {
                Sys.C.umask(savedUmask);
            }
        }
    }

    static List<Batch.SeqResult> run(Batch batch, List<Seq> seqs) {
        return await(batch, submit(batch, seqs));
    }

    static Future<List<Batch.SeqResult>> submit(Batch batch, List<Seq> seqs) {
        return EXEC.submit(() -> batch.run(seqs));
    }

    static List<Batch.SeqResult> await(Batch batch, Future<List<Batch.SeqResult>> f) {
        boolean aborted = false;
        long abortedAt = 0;
        while (true) {
            try {
                return f.get(1, TimeUnit.SECONDS);
            } catch (TimeoutException e) {
                long idle = System.nanoTime() - batch.heartbeat.get();
                if (!aborted && batch.started() && idle > TimeUnit.SECONDS.toNanos(HANG_SECONDS)) {
                    System.err.println("fuzz: no progress for " + HANG_SECONDS + " s: killing the batch's daemons");
                    batch.abort();
                    aborted = true;
                    abortedAt = System.nanoTime();
                } else if (aborted && System.nanoTime() - abortedAt > TimeUnit.SECONDS.toNanos(120)) {
                    throw new IllegalStateException("the fuzz batch does not end even after its daemons were killed");
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                batch.abort();
                throw new IllegalStateException("interrupted", e);
            } catch (ExecutionException e) {
                Throwable c = e.getCause();
                if (c instanceof RuntimeException re) {
                    throw re;
                }
                if (c instanceof Error err) {
                    throw err;
                }
                throw new IllegalStateException(c);
            }
        }
    }
}
