package dev.layerfs.fuse;

import dev.layerfs.core.error.Errno;
import dev.layerfs.core.error.FsException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one guard every FUSE callback runs in, and the one place errno is mapped: an {@link FsException} becomes
 * its negated errno; anything else thrown is a bug, logged with its stack trace and answered with -EIO (jnr-fuse
 * catches nothing, and an exception escaping into native code would take the daemon down).
 */
final class FuseCall {
    private static final Logger LOG = LoggerFactory.getLogger(FuseCall.class);

    @FunctionalInterface
    interface Body {
        int run() throws FsException;
    }

    private FuseCall() {}

    static int run(String op, String path, Body body) {
        try {
            return body.run();
        } catch (FsException e) {
            if (LOG.isDebugEnabled()) {
                LOG.debug("{} {}: {}", op, path, e.getMessage());
            }
            return -e.errno().code();
        } catch (Throwable t) {
            LOG.error("{} {} failed unexpectedly", op, path, t);
            return -Errno.EIO.code();
        }
    }

    /** The negated errno for an errno, as FUSE wants it. */
    static int error(Errno errno) {
        return -errno.code();
    }
}
