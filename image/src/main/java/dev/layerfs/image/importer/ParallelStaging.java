package dev.layerfs.image.importer;

import dev.layerfs.image.store.ImageStoreException;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Stages the layers of one import at the same time, one thread per core at most (a layer's time is mostly
 * decompression and system calls, both of which a second core shares). The first failure stops the others:
 * {@link #result} reports that failure whichever layer is asked for, and {@link #close} returns only when no task
 * is left running, so the caller may then delete what the tasks were writing.
 */
final class ParallelStaging<T> implements AutoCloseable {
    /** A layer's work: extraction and digests. */
    interface Task<T> {
        T run() throws IOException, ImageStoreException;
    }

    private final ExecutorService pool;
    private final AtomicReference<Exception> firstFailure = new AtomicReference<>();

    /** For {@code tasks} tasks; none: no thread is started. */
    ParallelStaging(int tasks) {
        if (tasks == 0) {
            this.pool = null;
            return;
        }
        int threads = Math.min(tasks, Runtime.getRuntime().availableProcessors());
        this.pool = Executors.newFixedThreadPool(threads, r -> {
            Thread t = new Thread(r, "layer-staging");
            t.setDaemon(true);
            return t;
        });
    }

    Future<T> submit(Task<T> task) {
        Callable<T> c = () -> {
            try {
                return task.run();
            } catch (IOException | ImageStoreException | RuntimeException e) {
                if (firstFailure.compareAndSet(null, e)) {
                    pool.shutdownNow();
                }
                throw e;
            }
        };
        return pool.submit(c);
    }

    /** A task's result, waiting for it; the first failure of any task if there was one. */
    T result(Future<T> f) throws IOException, ImageStoreException {
        try {
            return f.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("the import was interrupted");
        } catch (ExecutionException | java.util.concurrent.CancellationException e) {
            Exception first = firstFailure.get();
            Throwable cause = first != null ? first : e.getCause() != null ? e.getCause() : e;
            if (cause instanceof IOException io) {
                throw io;
            }
            if (cause instanceof ImageStoreException ise) {
                throw ise;
            }
            if (cause instanceof RuntimeException re) {
                throw re;
            }
            throw new IOException(cause);
        }
    }

    /** Stops what is still running and waits until it has stopped. */
    @Override
    public void close() {
        if (pool == null) {
            return;
        }
        pool.shutdownNow();
        boolean interrupted = false;
        while (true) {
            try {
                if (pool.awaitTermination(1, TimeUnit.MINUTES)) {
                    break;
                }
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }
}
