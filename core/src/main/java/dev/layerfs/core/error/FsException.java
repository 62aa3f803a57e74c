package dev.layerfs.core.error;

import java.io.IOException;

/**
 * The one failure type of the engine: an errno with a message saying which operation on which path failed.
 * Stack traces are not filled in: these are expected outcomes (ENOENT on lookup is the common case), not bugs.
 */
public final class FsException extends IOException {
    private static final long serialVersionUID = 1L;

    private final Errno errno;

    public FsException(Errno errno, String message) {
        super(errno + ": " + message, null);
        this.errno = errno;
    }

    public Errno errno() {
        return errno;
    }

    public static FsException of(Errno errno, String op, String path) {
        return new FsException(errno, op + " " + path);
    }

    @Override
    public synchronized Throwable fillInStackTrace() {
        return this;
    }
}
