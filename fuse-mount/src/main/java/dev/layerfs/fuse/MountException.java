package dev.layerfs.fuse;

/** The mount cannot be made; the message is the one line the user sees. */
final class MountException extends Exception {
    private static final long serialVersionUID = 1L;

    MountException(String message) {
        super(message);
    }
}
