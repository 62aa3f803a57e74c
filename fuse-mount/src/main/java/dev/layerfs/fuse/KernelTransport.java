package dev.layerfs.fuse;

import dev.layerfs.core.Overlay;
import dev.layerfs.core.error.FsException;
import dev.layerfs.core.nativeio.Syscalls;
import dev.layerfs.fuse.kernel.KernelSession;
import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;

/**
 * {@code transport=kernel}: the FUSE protocol over /dev/fuse, mounted with mount(2) as root and through fusermount3
 * otherwise.
 */
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
            Preflight.requireFusermount3();
        }
    }

    @Override
    public Session open(Overlay overlay, Path mountPoint) throws MountException {
        KernelSession session = session(overlay, mountPoint);
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

    /** The kernel session for an overlay at a mount point, with the options of this command line. */
    KernelSession session(Overlay overlay, Path mountPoint) throws MountException {
        MountOptions o = cl.options;
        KernelSession session;
        boolean root = Syscalls.get().geteuid() == 0;
        // Other users get in as with libfuse: always by root's mounts (unless allow_root), by a user's if asked.
        boolean allowOther = o.allowOther || (root && !o.allowRoot);
        try {
            session = KernelSession.create(overlay, new KernelSession.Options(Transport.fsName(cl), mountPoint,
                    overlay.readOnly(), !o.suid.orElse(true), !o.dev.orElse(true), allowOther, true,
                    cl.singleThreaded ? 1 : o.threads, o.timeoutSeconds, o.passthrough));
        } catch (FsException e) {
            throw new MountException("cannot read the root of the overlay: " + e.getMessage());
        }
        return session;
    }
}
