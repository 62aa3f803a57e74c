package dev.layerfs.fuse;

import dev.layerfs.core.Overlay;
import dev.layerfs.core.error.FsException;
import dev.layerfs.core.nativeio.Syscalls;
import dev.layerfs.fuse.kernel.KernelSession;
import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;

/** {@code transport=kernel}: the FUSE protocol over /dev/fuse, mounted with mount(2) (root only, for now). */
final class KernelTransport implements Transport {
    private final CommandLine cl;

    KernelTransport(CommandLine cl) {
        this.cl = cl;
    }

    @Override
    public void prepareInBackground() {
        Transport.inBackground("binding the mount calls", KernelSession::prepare);
    }

    @Override
    public void preflight() throws MountException {
        Preflight.requireDevFuse();
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
                    cl.singleThreaded ? 1 : o.threads, o.timeoutSeconds, o.passthrough));
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
