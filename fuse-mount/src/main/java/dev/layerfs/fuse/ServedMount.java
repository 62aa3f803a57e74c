package dev.layerfs.fuse;

import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A mount served in-process on a /dev/fuse descriptor another process mounted with: the session's threads run
 * until the mount is unmounted, then its devices are closed, its engine closed and an ephemeral layer deleted,
 * and {@code onEnd} runs. Nothing of one served mount is shared with another: an exception in one stays in its
 * own threads.
 */
public final class ServedMount {
    private static final Logger LOG = LoggerFactory.getLogger(ServedMount.class);

    private final MountPlan plan;
    private final Thread loop;
    private final AtomicReference<Throwable> failure = new AtomicReference<>();

    private ServedMount(MountPlan plan, int mountedFd, String name, Runnable onEnd) {
        this.plan = plan;
        this.loop = new Thread(() -> {
            try {
                plan.session().adoptAndServe(mountedFd);
            } catch (Throwable t) {
                failure.set(t);
                LOG.error("serving {} failed: {}", plan.mountPoint(), t.toString());
            } finally {
                plan.abandon();
                onEnd.run();
            }
        }, name);
        loop.setDaemon(true);
    }

    /**
     * A plan to serve on the descriptor it was mounted with, which this object owns from now on; {@link #start()}
     * starts serving it.
     */
    public static ServedMount of(MountPlan plan, int mountedFd, String threadName, Runnable onEnd) {
        return new ServedMount(plan, mountedFd, threadName, onEnd);
    }

    /** Starts serving, once. */
    public void start() {
        loop.start();
    }

    public Path mountPoint() {
        return plan.mountPoint();
    }

    /** Waits until the kernel's INIT has been answered; refused where the session ended first or took too long. */
    public void awaitReady(long timeoutSeconds) throws MountRefusal {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(timeoutSeconds);
        try {
            while (!plan.session().initialized().await(10, TimeUnit.MILLISECONDS)) {
                if (!loop.isAlive()) {
                    Throwable t = failure.get();
                    throw MountRefusal.error("mounting " + plan.mountPoint() + " failed"
                            + (t == null ? ": the connection ended before INIT" : ": " + t.getMessage()), 1);
                }
                if (System.nanoTime() > deadline) {
                    throw MountRefusal.error("the mount at " + plan.mountPoint() + " did not start within "
                            + timeoutSeconds + " s", 1);
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw MountRefusal.error("interrupted while mounting " + plan.mountPoint(), 1);
        }
    }

    /** Waits (bounded) for the session to end; true if it did. */
    public boolean awaitEnd(long millis) {
        try {
            loop.join(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return !loop.isAlive();
    }

    public boolean ended() {
        return !loop.isAlive();
    }

    @Override
    public String toString() {
        return plan.describe();
    }
}
