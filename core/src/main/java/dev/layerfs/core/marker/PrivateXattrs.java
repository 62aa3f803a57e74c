package dev.layerfs.core.marker;

import dev.layerfs.core.error.Errno;
import dev.layerfs.core.error.FsException;
import dev.layerfs.core.nativeio.HostAdmin;
import dev.layerfs.core.nativeio.Syscalls;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The overlay's own xattrs on real objects (the kernel's {@code overlay.*}): opaque and whiteout markers, origin
 * records, the impure flag. They are written as {@code trusted.overlay.*}, or, where the daemon may not set
 * trusted xattrs (an unprivileged mount), as {@code user.overlay.*}, the kernel's {@code userxattr} form; they
 * are read in either form, the form this overlay writes first. fuse-overlayfs's {@code user.fuseoverlayfs.*} is
 * private too. The merged view hides all of these and refuses to set them.
 */
public final class PrivateXattrs {
    private static final Logger LOG = LoggerFactory.getLogger(PrivateXattrs.class);

    public static final String TRUSTED = "trusted.overlay.";
    public static final String USER = "user.overlay.";
    public static final String FUSE_OVERLAYFS = "user.fuseoverlayfs.";
    private static final List<String> PREFIXES = List.of(TRUSTED, USER, FUSE_OVERLAYFS);

    public static final String OPAQUE = "opaque";
    public static final String WHITEOUT = "whiteout";
    public static final String ORIGIN = "origin";
    public static final String IMPURE = "impure";
    public static final String REDIRECT = "redirect";
    public static final String METACOPY = "metacopy";
    public static final String NLINK = "nlink";
    public static final String UPPER = "upper";

    private final Syscalls sys = Syscalls.get();
    /**
     * Whether markers are written (and first looked for) in the trusted form: from the start only where this
     * process may set trusted xattrs at all ({@link HostAdmin}), and no longer once the kernel refused one.
     */
    private volatile boolean trusted = HostAdmin.able();

    /** True for the overlay's private xattrs (a byte string), which the merged view hides and refuses to set. */
    public static boolean isPrivate(String name) {
        for (String prefix : PREFIXES) {
            if (name.startsWith(prefix)) {
                return true;
            }
        }
        return false;
    }

    /** The marker's value on the object at {@code path} relative to {@code dirfd}, trusted form first; or null. */
    public byte[] get(int dirfd, String path, String marker) throws FsException {
        String first = trusted ? TRUSTED : USER;
        byte[] v = sys.lgetxattr(dirfd, path, first + marker);
        return v != null ? v : sys.lgetxattr(dirfd, path, (trusted ? USER : TRUSTED) + marker);
    }

    /**
     * The marker's value in the form this overlay writes (trusted, or user once trusted was refused), or null: as
     * the kernel reads its origin and impure records only in its own namespace.
     */
    public byte[] getOwn(int dirfd, String path, String marker) throws FsException {
        return sys.lgetxattr(dirfd, path, (trusted ? TRUSTED : USER) + marker);
    }

    /** As {@link #getOwn}, for the object an open descriptor holds. */
    public byte[] getOwn(int fd, String marker) throws FsException {
        return sys.fgetxattr(fd, (trusted ? TRUSTED : USER) + marker);
    }

    /** Removes the marker (in the form this overlay writes) from the object at {@code path}, if it has it. */
    public void remove(int dirfd, String path, String marker) throws FsException {
        try {
            sys.lremovexattr(dirfd, path, (trusted ? TRUSTED : USER) + marker);
        } catch (FsException e) {
            if (e.errno() != Errno.ENODATA) {
                throw e;
            }
        }
    }

    /**
     * Whether {@code names} (an object's listxattr) holds the marker in the form {@link #getOwn} reads: where it
     * is listed, getOwn finds it (and where it is not, getOwn finds nothing), so its presence costs no more reads.
     */
    public boolean listedOwn(List<String> names, String marker) {
        return names.contains((trusted ? TRUSTED : USER) + marker);
    }

    /** Whether {@code names} (an object's listxattr) holds the marker, in either form. */
    public static boolean listed(List<String> names, String marker) {
        return names.contains(TRUSTED + marker) || names.contains(USER + marker);
    }

    /**
     * Sets a marker in the trusted form; where that is refused (EPERM, EOPNOTSUPP) this overlay switches to the
     * user form for good, as the kernel's userxattr mounts write.
     */
    public void set(int dirfd, String path, String marker, byte[] value) throws FsException {
        if (trusted) {
            try {
                sys.lsetxattr(dirfd, path, TRUSTED + marker, value, 0);
                return;
            } catch (FsException e) {
                refused(e);
            }
        }
        sys.lsetxattr(dirfd, path, USER + marker, value, 0);
    }

    /** As {@link #set(int, String, String, byte[])}, on the object an open descriptor (not O_PATH) holds. */
    public void set(int fd, String marker, byte[] value) throws FsException {
        if (trusted) {
            try {
                sys.fsetxattr(fd, TRUSTED + marker, value, 0);
                return;
            } catch (FsException e) {
                refused(e);
            }
        }
        sys.fsetxattr(fd, USER + marker, value, 0);
    }

    /** A trusted xattr could not be set: EPERM or EOPNOTSUPP switch to the user form for good, else it fails. */
    private void refused(FsException e) throws FsException {
        if (e.errno() != Errno.EPERM && e.errno() != Errno.EOPNOTSUPP) {
            throw e;
        }
        LOG.info("trusted.* xattrs are not permitted ({}); writing the overlay's markers as user.overlay.*",
                e.getMessage());
        trusted = false;
    }
}
