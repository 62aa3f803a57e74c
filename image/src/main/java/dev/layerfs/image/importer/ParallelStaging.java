package dev.layerfs.image.importer;

import dev.layerfs.image.store.ImageStoreException;
import dev.layerfs.image.store.ObservedStream;
import java.io.IOException;
import java.io.InputStream;
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
 * decompression and system calls, both of which a second core shares). The first failure stops the others: a
 * task not started yet does not start, and a running one fails at its next read of its layer file
 * ({@link #stopOnFailure}); {@link #result} reports the first failure whichever layer is asked for, and
 * {@link #close} returns only when no task is left running, so the caller may then delete what they were writing.
 * No thread is interrupted: an interrupt during a class's one-time initialization (the native bindings load on
 * first use, in whichever thread uses them first) would break that class for the rest of the JVM's life.
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
            if (firstFailure.get() != null) {
                throw new IOException("not started: another layer failed");
            }
            try {
                return task.run();
            } catch (IOException | ImageStoreException | RuntimeException | Error e) {
                firstFailure.compareAndSet(null, e instanceof Error err ? new IOException(err) : (Exception) e);
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

    /** A task's layer file, failing at its next read once any task has failed. */
    InputStream stopOnFailure(InputStream in) {
        return new ObservedStream(in) {
            @Override
            protected void observe(byte[] b, int off, int len) throws IOException {
                if (firstFailure.get() != null) {
                    throw new IOException("stopped: another layer failed");
                }
            }
        };
    }

    /** Waits until no task runs (after a failure, each stops at its next read). */
    @Override
    public void close() {
        if (pool == null) {
            return;
        }
        pool.shutdown();
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
