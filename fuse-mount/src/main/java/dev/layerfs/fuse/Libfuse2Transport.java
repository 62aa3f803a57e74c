package dev.layerfs.fuse;

import dev.layerfs.core.Overlay;
import dev.layerfs.core.nativeio.Syscalls;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;

/** {@code transport=libfuse2}: jnr-fuse over libfuse 2's high-level, path-based API ({@link OverlayFuse}). */
final class Libfuse2Transport implements Transport {
    /** What libfuse 2.9 speaks; {@link FuseSession} raises its INIT reply to 7.28 only for 1 MiB writes. */
    static final String PROTOCOL = "7.19";
    /**
     * One second: libfuse 2 makes a kernel node per name, so a change through one name of a hard link reaches the
     * others only when their cached attributes expire.
     */
    static final double DEFAULT_TIMEOUT_SECONDS = 1.0;
    private final CommandLine cl;

    Libfuse2Transport(CommandLine cl) {
        this.cl = cl;
    }

    /**
     * jnr generates the classes behind the FUSE callback table and the libfuse binding at run time, a good part
     * of the time to a live mount: a second thread does that while this one checks the layers and opens the
     * overlay (jnr keeps what it generated, so the real construction later finds it ready). A failure here is
     * left for the real construction to report.
     */
    @Override
    public void prepareInBackground() {
        Transport.inBackground("preparing the FUSE callbacks", () -> {
            new OverlayFuse(null).operations();
            FuseSession.loadLibrary();
        });
    }

    @Override
    public void preflight() throws MountException {
        Preflight.requireFuse();
    }

    @Override
    public Session open(Overlay overlay, Path mountPoint) {
        OverlayFuse fuse = new OverlayFuse(overlay);
        MountOptions o = cl.options;
        List<String> args = fuseArguments(o, overlay.readOnly(), mountPoint);
        return new Session() {
            @Override
            public CountDownLatch initialized() {
                return fuse.initialized();
            }

            @Override
            public void serve() {
                FuseSession session = FuseSession.mount(fuse.operations(), args);
                if (session == null) {
                    throw new IllegalStateException("libfuse refused the mount");
                }
                if (o.timeoutSeconds(DEFAULT_TIMEOUT_SECONDS) > 0) {
                    session.cacheDirectoryListings();
                }
                session.rewriteInitReply();
                session.serve(o.threads);
            }
        };
    }

    /**
     * libfuse's options. {@code auto_cache} keeps file data cached in the kernel across opens unless the file's
     * size or mtime changed (kernel_cache would keep it even then, and hard links, which libfuse 2's path-based
     * API shows as separate kernel inodes, would read stale data through one name after a write through
     * another). Files removed while open are handled by {@link HiddenFiles}.
     */
    private List<String> fuseArguments(MountOptions o, boolean readOnly, Path mountPoint) {
        String fuseName = Transport.fsName(cl);
        boolean root = Syscalls.get().geteuid() == 0;
        String t = Double.toString(o.timeoutSeconds(DEFAULT_TIMEOUT_SECONDS));
        List<String> opts = new ArrayList<>(List.of("fsname=" + fuseName, "subtype=layerfs", "use_ino", "nonempty",
                "big_writes", "max_write=131072", "atomic_o_trunc", "auto_cache", "entry_timeout=" + t,
                "attr_timeout=" + t, "negative_timeout=" + t));
        if (o.allowOther || (root && !o.allowRoot)) {
            opts.add("allow_other");
        }
        if (o.allowRoot) {
            opts.add("allow_root");
        }
        if (o.defaultPermissions || root) {
            opts.add("default_permissions");
        }
        if (readOnly) {
            opts.add("ro");
        }
        if (root) {
            opts.add(o.suid.orElse(true) ? "suid" : "nosuid");
            opts.add(o.dev.orElse(true) ? "dev" : "nodev");
        }
        List<String> args = new ArrayList<>(List.of(fuseName, "-f", "-o", String.join(",", opts)));
        if (cl.singleThreaded) {
            args.add("-s");
        }
        if (cl.debug) {
            args.add("-d");
        }
        args.add(mountPoint.toString());
        return args;
    }
}
