package dev.layerfs.image.store;

/** A refusal or failure to be reported to the user as one line: the message names the cause. */
public class ImageStoreException extends Exception {
    private static final long serialVersionUID = 1L;

    public ImageStoreException(String message) {
        super(message);
    }

    public ImageStoreException(String message, Throwable cause) {
        super(message, cause);
    }
}
