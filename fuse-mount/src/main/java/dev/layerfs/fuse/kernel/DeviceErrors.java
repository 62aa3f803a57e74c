package dev.layerfs.fuse.kernel;

import dev.layerfs.core.error.Errno;

/** What the errno of a failed read or write on /dev/fuse means for the worker that got it. */
final class DeviceErrors {
    private static final int ENOENT = Errno.ENOENT.code();
    private static final int EINTR = Errno.EINTR.code();
    private static final int ENODEV = Errno.ENODEV.code();

    private DeviceErrors() {}

    /** ENODEV: the file system was unmounted (or the connection aborted). */
    static boolean isUnmounted(int errno) {
        return errno == ENODEV;
    }

    /** ENOENT: the request was interrupted and dropped before its reply (or before it could be read). */
    static boolean isRequestGone(int errno) {
        return errno == ENOENT;
    }

    /** EINTR: a signal came before the call did anything; it is made again. */
    static boolean isInterrupted(int errno) {
        return errno == EINTR;
    }

    /** An errno as log lines name it. */
    static String describe(int errno) {
        return "errno " + errno;
    }
}
