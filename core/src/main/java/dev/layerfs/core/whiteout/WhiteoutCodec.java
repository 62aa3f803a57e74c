package dev.layerfs.core.whiteout;

import dev.layerfs.core.error.Errno;
import dev.layerfs.core.error.FsException;
import dev.layerfs.core.model.Layer;
import dev.layerfs.core.model.OverlayPaths;
import dev.layerfs.core.nativeio.Linux;
import dev.layerfs.core.nativeio.Stat;
import dev.layerfs.core.nativeio.Syscalls;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Every whiteout and opaque-directory dialect, read and written in this one class.
 *
 * <p>Read: a character device 0/0 (the kernel's whiteout); a {@code .wh.NAME} file (AUFS, as container tools
 * extract image layers); a {@code .wh..wh..opq} file; the xattrs {@code trusted.overlay.opaque},
 * {@code user.overlay.opaque} and {@code user.fuseoverlayfs.opaque} set to {@code y}; and the kernel's xattr
 * whiteouts: an empty regular file carrying {@code trusted.overlay.whiteout} (or the user. form) in a directory
 * whose opaque xattr is {@code x}.
 *
 * <p>Written: whiteouts as character devices 0/0, falling back to {@code .wh.NAME} files where mknod is not
 * permitted; opaque directories as {@code trusted.overlay.opaque=y}, falling back to {@code user.overlay.opaque}.
 */
public final class WhiteoutCodec {
    private static final Logger LOG = LoggerFactory.getLogger(WhiteoutCodec.class);

    public static final String PREFIX = ".wh.";
    public static final String OPAQUE_MARKER_FILE = ".wh..wh..opq";
    private static final int NAME_MAX = 255;
    static final String TRUSTED_OPAQUE = "trusted.overlay.opaque";
    static final String USER_OPAQUE = "user.overlay.opaque";
    static final String FUSE_OVERLAYFS_OPAQUE = "user.fuseoverlayfs.opaque";
    static final String TRUSTED_WHITEOUT = "trusted.overlay.whiteout";
    static final String USER_WHITEOUT = "user.overlay.whiteout";
    private static final List<String> OPAQUE_XATTRS = List.of(TRUSTED_OPAQUE, USER_OPAQUE, FUSE_OVERLAYFS_OPAQUE);
    private static final List<String> PRIVATE_PREFIXES = List.of("trusted.overlay.", "user.overlay.",
            "user.fuseoverlayfs.");

    private final Syscalls sys = Syscalls.get();
    private volatile boolean deviceWhiteouts = true;
    private volatile boolean trustedXattrs = true;

    /** True for names no merged view ever shows: the AUFS whiteout and opaque-marker files. */
    public static boolean isReservedName(String name) {
        return name.startsWith(PREFIX);
    }

    /** True for the overlay's private xattrs, which the merged view hides and refuses to set. */
    public static boolean isPrivateXattr(String name) {
        for (String prefix : PRIVATE_PREFIXES) {
            if (name.startsWith(prefix)) {
                return true;
            }
        }
        return false;
    }

    /**
     * False for names of more than NAME_MAX - 4 bytes: their {@code .wh.} file cannot exist (asking for it would
     * be ENAMETOOLONG, though the name itself is fine).
     */
    static boolean fitsWhiteoutFile(String name) {
        return PREFIX.length() + name.getBytes(StandardCharsets.UTF_8).length <= NAME_MAX;
    }

    /** The name of the AUFS whiteout file that hides {@code name}. */
    public static String whiteoutFileName(String name) {
        return PREFIX + name;
    }

    /**
     * Whether a real object found in a layer is a whiteout. Only empty regular files in a directory marked "x"
     * cost an xattr read; everything else is decided from the stat alone.
     */
    public boolean isWhiteout(Layer layer, String path, Stat st, Opacity parent) throws FsException {
        if (st.isCharDevice()) {
            return st.rdev() == 0;
        }
        if (parent == Opacity.TRANSPARENT_WITH_XATTR_WHITEOUTS && st.isRegularFile() && st.size() == 0) {
            String abs = layer.absolute(path);
            return sys.lgetxattr(abs, TRUSTED_WHITEOUT) != null || sys.lgetxattr(abs, USER_WHITEOUT) != null;
        }
        return false;
    }

    /** Whether the layer holds a {@code .wh.NAME} file for the name at {@code path}. */
    public boolean hasWhiteoutFile(Layer layer, String path) throws FsException {
        if (!fitsWhiteoutFile(OverlayPaths.name(path))) {
            return false;
        }
        String wh = OverlayPaths.child(OverlayPaths.parent(path), whiteoutFileName(OverlayPaths.name(path)));
        return sys.lstatIfExists(layer.fd(), wh) != null;
    }

    /** What the markers of a real directory say. Unreadable markers are logged and read as transparent. */
    public Opacity opacity(Layer layer, String dir) throws FsException {
        String abs = layer.absolute(dir);
        try {
            List<String> names = sys.llistxattr(abs);
            for (String x : OPAQUE_XATTRS) {
                if (names.contains(x)) {
                    byte[] v = sys.lgetxattr(abs, x);
                    if (v != null && v.length == 1 && v[0] == 'y') {
                        return Opacity.OPAQUE;
                    }
                    if (v != null && v.length == 1 && v[0] == 'x') {
                        return Opacity.TRANSPARENT_WITH_XATTR_WHITEOUTS;
                    }
                }
            }
        } catch (FsException e) {
            if (e.errno() != Errno.EOPNOTSUPP) {
                LOG.warn("cannot read the opaque markers of {}: {}", abs, e.getMessage());
            }
        }
        if (sys.lstatIfExists(layer.fd(), OverlayPaths.child(dir, OPAQUE_MARKER_FILE)) != null) {
            return Opacity.OPAQUE;
        }
        return Opacity.TRANSPARENT;
    }

    /**
     * Makes a whiteout at {@code path} (relative to {@code dirfd}), which must not exist. Returns true for a
     * character device, false where mknod is refused and an AUFS {@code .wh.NAME} file was made instead.
     */
    public boolean createWhiteout(int dirfd, String path) throws FsException {
        if (deviceWhiteouts) {
            try {
                sys.mknodat(dirfd, path, Linux.S_IFCHR, 0);
                return true;
            } catch (FsException e) {
                if (e.errno() != Errno.EPERM && e.errno() != Errno.EOPNOTSUPP) {
                    throw e;
                }
                LOG.info("mknod of whiteouts is not permitted ({}); writing .wh. files instead", e.getMessage());
                deviceWhiteouts = false;
            }
        }
        String wh = OverlayPaths.child(OverlayPaths.parent(path), whiteoutFileName(OverlayPaths.name(path)));
        sys.close(sys.openat(dirfd, wh, Linux.O_WRONLY | Linux.O_CREAT | Linux.O_NOFOLLOW, 0));
        return false;
    }

    /** True where whiteouts are written as character devices (else as AUFS files). */
    public boolean writesDeviceWhiteouts() {
        return deviceWhiteouts;
    }

    /** Marks a directory opaque, given by its absolute path (in the upper layer or the work directory). */
    public void markOpaque(String abs) throws FsException {
        byte[] y = "y".getBytes(StandardCharsets.US_ASCII);
        if (trustedXattrs) {
            try {
                sys.lsetxattr(abs, TRUSTED_OPAQUE, y, 0);
                return;
            } catch (FsException e) {
                if (e.errno() != Errno.EPERM && e.errno() != Errno.EOPNOTSUPP) {
                    throw e;
                }
                LOG.info("trusted.* xattrs are not permitted ({}); marking opaque directories with user.*",
                        e.getMessage());
                trustedXattrs = false;
            }
        }
        sys.lsetxattr(abs, USER_OPAQUE, y, 0);
    }

    /** Removes an AUFS {@code .wh.NAME} file for the name at {@code path} from the upper layer, if one is there. */
    public void removeWhiteoutFile(Layer upper, String path) throws FsException {
        if (!fitsWhiteoutFile(OverlayPaths.name(path))) {
            return;
        }
        String wh = OverlayPaths.child(OverlayPaths.parent(path), whiteoutFileName(OverlayPaths.name(path)));
        try {
            sys.unlinkat(upper.fd(), wh, false);
        } catch (FsException e) {
            if (e.errno() != Errno.ENOENT) {
                throw e;
            }
        }
    }
}
