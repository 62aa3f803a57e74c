package dev.layerfs.fuse.kernel;

import java.io.IOException;

/**
 * The errno behind a failed read or write on /dev/fuse. A FileChannel reports it only as the C library's text
 * for the errno (the JVM's messages are not translated), so the two cases that matter are told apart here, once.
 */
final class DeviceErrors {
    private DeviceErrors() {}

    /** ENODEV: the file system was unmounted (or the connection aborted). */
    static boolean isUnmounted(IOException e) {
        return has(e, "No such device");
    }

    /** ENOENT: the request was interrupted and dropped before its reply (or before it could be read). */
    static boolean isRequestGone(IOException e) {
        return has(e, "No such file or directory") || has(e, "Interrupted system call");
    }

    private static boolean has(IOException e, String text) {
        return e.getMessage() != null && e.getMessage().contains(text);
    }
}
