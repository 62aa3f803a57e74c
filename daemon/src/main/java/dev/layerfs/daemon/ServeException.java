package dev.layerfs.daemon;

/** The daemon cannot start; the message is the one line the user sees. */
final class ServeException extends Exception {
    private static final long serialVersionUID = 1L;

    ServeException(String message) {
        super(message);
    }
}
