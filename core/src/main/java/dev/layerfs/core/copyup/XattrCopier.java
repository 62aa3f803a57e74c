package dev.layerfs.core.copyup;

import dev.layerfs.core.error.Errno;
import dev.layerfs.core.error.FsException;
import dev.layerfs.core.marker.PrivateXattrs;
import dev.layerfs.core.nativeio.Syscalls;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Copies the xattrs of a real object to another, leaving out the overlay's private ones (they describe the
 * source layer, not the object). An xattr the target filesystem refuses is logged and skipped, as the kernel
 * does for ENOTSUP.
 */
final class XattrCopier {
    private static final Logger LOG = LoggerFactory.getLogger(XattrCopier.class);

    private final Syscalls sys = Syscalls.get();

    void copy(int fromDir, String from, int toDir, String to) throws FsException {
        copy(fromDir, from, (name, value) -> sys.lsetxattr(toDir, to, name, value, 0));
    }

    /** As {@link #copy(int, String, int, String)}, to the object an open descriptor (not O_PATH) holds. */
    void copy(int fromDir, String from, int toFd) throws FsException {
        copy(fromDir, from, (name, value) -> sys.fsetxattr(toFd, name, value, 0));
    }

    @FunctionalInterface
    private interface Setter {
        void set(String name, byte[] value) throws FsException;
    }

    private void copy(int fromDir, String from, Setter to) throws FsException {
        for (String name : sys.llistxattr(fromDir, from)) {
            if (PrivateXattrs.isPrivate(name)) {
                continue;
            }
            byte[] value = sys.lgetxattr(fromDir, from, name);
            if (value == null) {
                continue;
            }
            try {
                to.set(name, value);
            } catch (FsException e) {
                if (e.errno() != Errno.EOPNOTSUPP && e.errno() != Errno.EPERM) {
                    throw e;
                }
                LOG.warn("copy-up skipped xattr {} of {}: {}", name, from, e.getMessage());
            }
        }
    }
}
