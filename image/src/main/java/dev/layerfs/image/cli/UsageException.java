package dev.layerfs.image.cli;

/** A command line the commands cannot take: said in one line, followed by the usage line, exit status 2. */
final class UsageException extends Exception {
    private static final long serialVersionUID = 1L;

    UsageException(String message) {
        super(message);
    }
}
