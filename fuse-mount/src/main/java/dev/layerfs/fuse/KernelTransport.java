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
    /**
     * A day, where {@code -o timeout=} is not given. What layerfs changes itself it tells the kernel (replies carry
     * the new attributes; a copy-up is sent as FUSE_NOTIFY_INVAL_INODE), so a long cache loses only changes made
     * to the layers behind layerfs's back, which the kernel overlay does not promise to show either; and a warm
     * tree walk then costs no LOOKUP per name. fuse-overlayfs's default is longer still (10^9 s).
     */
    static final double DEFAULT_TIMEOUT_SECONDS = 86_400;
    /**
     * With index=on, one second: a write through a descriptor of one name of a lower hard link (served, or
     * passed through without a request) is not told to the other names, which see it when their attributes
     * expire.
     */
    static final double INDEXED_DEFAULT_TIMEOUT_SECONDS = 1.0;
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
                    cl.singleThreaded ? 1 : o.threads, o.timeoutSeconds(overlay.indexed()
                            ? INDEXED_DEFAULT_TIMEOUT_SECONDS : DEFAULT_TIMEOUT_SECONDS), o.passthrough));
        } catch (FsException e) {
            throw new MountException("cannot read the root of the overlay: " + e.getMessage());
        }
        return session;
    }
}
