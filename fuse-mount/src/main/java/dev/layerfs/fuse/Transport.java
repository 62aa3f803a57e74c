package dev.layerfs.fuse;

import dev.layerfs.core.Overlay;
import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;

/**
 * How a mount reaches the kernel. {@link MountDaemon} owns the life of a mount (checks, readiness, signals, the
 * ephemeral layer, exit codes); a transport only mounts and serves: {@link Libfuse2Transport} through jnr-fuse and
 * libfuse 2, {@link KernelTransport} by speaking the FUSE protocol over /dev/fuse itself.
 */
interface Transport {
    /** Start-up work that can run while the layers are checked (binding native code, generating classes). */
    void prepareInBackground();

    /** Checks what this transport needs (the device, a library), each failure one line saying what to do. */
    void preflight() throws MountException;

    /** A session for an overlay at a mount point; nothing is mounted until {@link Session#serve}. */
    Session open(Overlay overlay, Path mountPoint) throws MountException;

    /** One mount being served. */
    interface Session {
        /** Counts down once the kernel has sent INIT: the mount exists and requests are answered. */
        CountDownLatch initialized();

        /** Mounts and serves until unmounted; called on the session's own thread. */
        void serve() throws Exception;
    }

    /** The transport a mount's options ask for. */
    static Transport of(CommandLine cl) {
        return cl.transport.equals(TransportChoice.KERNEL) ? new KernelTransport(cl) : new Libfuse2Transport(cl);
    }

    /**
     * Runs start-up work on a daemon thread while the main thread checks the layers; a failure is only logged
     * (the real use reports it).
     */
    static void inBackground(String what, Runnable work) {
        Thread t = new Thread(() -> {
            try {
                work.run();
            } catch (Throwable e) {
                org.slf4j.LoggerFactory.getLogger(Transport.class).debug("{}: {}", what, e.toString());
            }
        }, "startup");
        t.setDaemon(true);
        t.start();
    }

    /** The source shown in /proc/mounts: the helper form's SOURCE, fsname=, or "layerfs". */
    static String fsName(CommandLine cl) {
        return cl.source.or(() -> cl.options.fsName).orElse("layerfs").replace(",", "_");
    }
}
