package dev.layerfs.image.extract;

/** A tar entry that would reach outside its layer directory. */
public final class UnsafeEntryException extends Exception {
    private static final long serialVersionUID = 1L;

    UnsafeEntryException(String name, String why) {
        super("refused entry " + name + ": " + why);
    }
}
