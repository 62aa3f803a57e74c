package dev.layerfs.core.whiteout;

import dev.layerfs.core.error.Errno;
import dev.layerfs.core.error.FsException;
import dev.layerfs.core.marker.DirectoryMarkers;
import dev.layerfs.core.marker.Opacity;
import dev.layerfs.core.marker.PrivateXattrs;
import dev.layerfs.core.model.Layer;
import dev.layerfs.core.model.OverlayPaths;
import dev.layerfs.core.nativeio.Linux;
import dev.layerfs.core.nativeio.Stat;
import dev.layerfs.core.nativeio.Syscalls;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Every whiteout and opaque-directory dialect, read and written in this one class.
 *
 * <p>Read: a character device 0/0 (the kernel's whiteout); a {@code .wh.NAME} file (AUFS, as container tools
 * extract image layers); a {@code .wh..wh..opq} file; the opaque xattr ({@code overlay.opaque} in the trusted or
 * user form, or {@code user.fuseoverlayfs.opaque}) set to {@code y}; and the kernel's xattr whiteouts: an empty
 * regular file carrying {@code overlay.whiteout} in a directory whose opaque xattr is {@code x}.
 *
 * <p>Written: whiteouts as character devices 0/0, falling back to {@code .wh.NAME} files where mknod is not
 * permitted; opaque directories as {@code overlay.opaque=y} ({@link PrivateXattrs} picks the namespace).
 *
 * <p>Names and paths are byte strings (one char per byte).
 */
public final class WhiteoutCodec {
    private static final Logger LOG = LoggerFactory.getLogger(WhiteoutCodec.class);

    public static final String PREFIX = ".wh.";
    public static final String OPAQUE_MARKER_FILE = ".wh..wh..opq";
    private static final int NAME_MAX = 255;
    private static final String FUSE_OVERLAYFS_OPAQUE = PrivateXattrs.FUSE_OVERLAYFS + PrivateXattrs.OPAQUE;
    private static final List<String> OPAQUE_XATTRS = List.of(PrivateXattrs.TRUSTED + PrivateXattrs.OPAQUE,
            PrivateXattrs.USER + PrivateXattrs.OPAQUE, FUSE_OVERLAYFS_OPAQUE);
    private static final byte[] Y = {'y'};

    private final Syscalls sys = Syscalls.get();
    private final PrivateXattrs markers;
    private volatile boolean deviceWhiteouts = true;

    public WhiteoutCodec(PrivateXattrs markers) {
        this.markers = markers;
    }

    /** True for names no merged view ever shows: the AUFS whiteout and opaque-marker files. */
    public static boolean isReservedName(String name) {
        return name.startsWith(PREFIX);
    }

    /**
     * The path of the {@code .wh.NAME} file that hides the name at {@code path}; null where the name is longer
     * than NAME_MAX - 4 bytes, so that no such file can exist (asking for it would be ENAMETOOLONG, though the
     * name itself is fine).
     */
    private static String whiteoutFilePath(String path) {
        String name = OverlayPaths.name(path);
        if (PREFIX.length() + name.length() > NAME_MAX) {
            return null;
        }
        return OverlayPaths.child(OverlayPaths.parent(path), PREFIX + name);
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
            return markers.get(layer.fd(), path, PrivateXattrs.WHITEOUT) != null;
        }
        return false;
    }

    /** Whether the layer holds a {@code .wh.NAME} file for the name at {@code path}. */
    public boolean hasWhiteoutFile(Layer layer, String path) throws FsException {
        String wh = whiteoutFilePath(path);
        return wh != null && sys.lstatIfExists(layer.fd(), wh) != null;
    }

    /** What the markers of a real directory say. Unreadable markers are logged and read as transparent, pure. */
    public DirectoryMarkers markers(Layer layer, String dir) throws FsException {
        Opacity opacity = Opacity.TRANSPARENT;
        boolean impure = false;
        String redirect = null;
        boolean origin = false;
        try {
            List<String> names = sys.llistxattr(layer.fd(), dir);
            if (!names.isEmpty()) {
                impure = PrivateXattrs.listed(names, PrivateXattrs.IMPURE);
                origin = PrivateXattrs.listed(names, PrivateXattrs.ORIGIN);
                opacity = opacityXattr(layer, dir, names);
                if (PrivateXattrs.listed(names, PrivateXattrs.REDIRECT)) {
                    redirect = validRedirect(markers.get(layer.fd(), dir, PrivateXattrs.REDIRECT));
                }
            }
        } catch (FsException e) {
            if (e.errno() != Errno.EOPNOTSUPP) {
                LOG.warn("cannot read the markers of {} in {}: {}", dir, layer, e.getMessage());
            }
        }
        if (opacity == Opacity.TRANSPARENT
                && sys.lstatIfExists(layer.fd(), OverlayPaths.child(dir, OPAQUE_MARKER_FILE)) != null) {
            opacity = Opacity.OPAQUE;
        }
        return new DirectoryMarkers(opacity, impure, redirect, origin);
    }

    /**
     * A regular file's markers where it is a metadata-only copy ({@code overlay.metacopy}, in the form this
     * overlay reads its own records: as the kernel, which reads it in its namespace only), with its redirect;
     * null for an ordinary file.
     */
    public DirectoryMarkers metacopyMarkers(Layer layer, String path) throws FsException {
        List<String> names;
        try {
            names = sys.llistxattr(layer.fd(), path);
        } catch (FsException e) {
            if (e.errno() == Errno.EOPNOTSUPP) {
                return null;
            }
            throw e;
        }
        if (!markers.listedOwn(names, PrivateXattrs.METACOPY)) {
            return null;
        }
        String redirect = PrivateXattrs.listed(names, PrivateXattrs.REDIRECT)
                ? validRedirect(markers.getOwn(layer.fd(), path, PrivateXattrs.REDIRECT)) : null;
        return DirectoryMarkers.metacopyFile(redirect);
    }

    /**
     * A redirect as the kernel's ovl_check_redirect accepts it (else null, ignored as the kernel ignores it): not
     * empty; absolute without empty components; relative without a slash.
     */
    static String validRedirect(byte[] value) {
        if (value == null || value.length == 0) {
            return null;
        }
        String r = new String(value, java.nio.charset.StandardCharsets.ISO_8859_1);
        if (r.charAt(0) == '/') {
            for (String part : r.substring(1).split("/", -1)) {
                if (part.isEmpty()) {
                    return null;
                }
            }
            return r;
        }
        return r.indexOf('/') < 0 ? r : null;
    }

    /** Writes a redirect on the directory (or metadata-only file) at {@code path} relative to {@code dirfd}. */
    public void setRedirect(int dirfd, String path, String redirect) throws FsException {
        markers.set(dirfd, path, PrivateXattrs.REDIRECT,
                redirect.getBytes(java.nio.charset.StandardCharsets.ISO_8859_1));
    }

    private Opacity opacityXattr(Layer layer, String dir, List<String> names) throws FsException {
        for (String x : OPAQUE_XATTRS) {
            if (names.contains(x)) {
                byte[] v = sys.lgetxattr(layer.fd(), dir, x);
                if (v != null && v.length == 1 && v[0] == 'y') {
                    return Opacity.OPAQUE;
                }
                if (v != null && v.length == 1 && v[0] == 'x') {
                    return Opacity.TRANSPARENT_WITH_XATTR_WHITEOUTS;
                }
            }
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
        String wh = whiteoutFilePath(path);
        if (wh == null) {
            throw FsException.of(Errno.ENAMETOOLONG, "whiteout file for", OverlayPaths.name(path));
        }
        sys.close(sys.openat(dirfd, wh, Linux.O_WRONLY | Linux.O_CREAT | Linux.O_NOFOLLOW, 0));
        return false;
    }

    /** True where whiteouts are written as character devices (else as AUFS files). */
    public boolean writesDeviceWhiteouts() {
        return deviceWhiteouts;
    }

    /** Marks the directory at {@code path} relative to {@code dirfd} (the upper layer's or the work directory's) opaque. */
    public void markOpaque(int dirfd, String path) throws FsException {
        markers.set(dirfd, path, PrivateXattrs.OPAQUE, Y);
    }

    /** Removes an AUFS {@code .wh.NAME} file for the name at {@code path} from the upper layer, if one is there. */
    public void removeWhiteoutFile(Layer upper, String path) throws FsException {
        String wh = whiteoutFilePath(path);
        if (wh == null) {
            return;
        }
        try {
            sys.unlinkat(upper.fd(), wh, false);
        } catch (FsException e) {
            if (e.errno() != Errno.ENOENT) {
                throw e;
            }
        }
    }
}
