package dev.layerfs.core.nativeio;

/**
 * A file handle as name_to_handle_at makes it: a type chosen by the filesystem and up to {@link #MAX_BYTES}
 * opaque bytes that name one object of that filesystem for as long as it exists.
 */
public record FileHandle(int type, byte[] bytes) {
    /** MAX_HANDLE_SZ: the most bytes a filesystem's handle takes. */
    public static final int MAX_BYTES = 128;
}
