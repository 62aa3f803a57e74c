package dev.layerfs.fuse.kernel;

import java.util.Locale;

/**
 * Which files the kernel reads and writes itself, through a backing file, instead of sending READ and WRITE
 * requests (the {@code passthrough=} mount option).
 */
public enum PassthroughMode {
    /**
     * Files on the upper layer, and every file of a read-only stack (nothing can be copied up there). A lower
     * file opened on a writable stack is served with READ requests, so that a descriptor opened before a copy-up
     * sees the upper copy afterwards, as on the kernel overlay.
     */
    UPPER,
    /**
     * Lower files too: faster reads of lower files, but a descriptor opened read-only on a lower file keeps
     * reading the lower file after a copy-up (the kernel overlay shows it the upper copy).
     */
    ALL,
    /** Every read and write is a request to the daemon. */
    OFF;

    /** The mode an option value names ({@code upper}, {@code all}, {@code off}), or null. */
    public static PassthroughMode of(String value) {
        for (PassthroughMode m : values()) {
            if (m.optionValue().equals(value)) {
                return m;
            }
        }
        return null;
    }

    public String optionValue() {
        return name().toLowerCase(Locale.ROOT);
    }
}
