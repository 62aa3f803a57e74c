package dev.layerfs.fuse;

import dev.layerfs.core.Overlay;
import dev.layerfs.core.error.FsException;
import dev.layerfs.core.nativeio.Syscalls;
import dev.layerfs.fuse.kernel.KernelSession;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** {@code transport=kernel}: the FUSE protocol over /dev/fuse, mounted with mount(2) (root only, for now). */
final class KernelTransport implements Transport {
    private static final Logger LOG = LoggerFactory.getLogger(KernelTransport.class);

    private final CommandLine cl;

    KernelTransport(CommandLine cl) {
        this.cl = cl;
    }

    @Override
    public void prepareInBackground() {
        Thread t = new Thread(() -> {
            try {
                KernelSession.prepare();
            } catch (Throwable e) {
                LOG.debug("binding the mount calls: {}", e.toString());
            }
        }, "startup");
        t.setDaemon(true);
        t.start();
    }

    @Override
    public void preflight() throws MountException {
        Path dev = Path.of("/dev/fuse");
        if (!Files.exists(dev)) {
            throw new MountException("/dev/fuse does not exist: load the fuse kernel module (modprobe fuse)");
        }
        if (!Files.isReadable(dev) || !Files.isWritable(dev)) {
            throw new MountException("/dev/fuse is not accessible to this user");
        }
        if (Syscalls.get().geteuid() != 0) {
            throw new MountException("transport=kernel mounts with mount(2) and needs root for now;"
                    + " use transport=libfuse2");
        }
    }

    @Override
    public Session open(Overlay overlay, Path mountPoint) throws MountException {
        MountOptions o = cl.options;
        KernelSession session;
        try {
            session = KernelSession.create(overlay, new KernelSession.Options(Transport.fsName(cl), mountPoint,
                    overlay.readOnly(), !o.suid.orElse(true), !o.dev.orElse(true), !o.allowRoot || o.allowOther, true,
                    cl.singleThreaded ? 1 : o.threads, o.timeoutSeconds));
        } catch (FsException e) {
            throw new MountException("cannot read the root of the overlay: " + e.getMessage());
        }
        return new Session() {
            @Override
            public CountDownLatch initialized() {
                return session.initialized();
            }

            @Override
            public void serve() throws Exception {
                session.mountAndServe();
            }
        };
    }
}
