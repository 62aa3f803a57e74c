package dev.layerfs.core.model;

/** A layer stack that cannot be used as given; the message is one line naming the offending path. */
public final class ConfigException extends Exception {
    private static final long serialVersionUID = 1L;

    public ConfigException(String message) {
        super(message);
    }
}
