package dev.layerfs.core.marker;

/** What a real directory's markers say about the layers below it. */
public enum Opacity {
    /** Merges with the same directory in lower layers. */
    TRANSPARENT,
    /** Merges, and may hold whiteouts written as xattr-marked empty files (the kernel's "x" value). */
    TRANSPARENT_WITH_XATTR_WHITEOUTS,
    /** Hides everything below it (opaque "y", or a {@code .wh..wh..opq} file). */
    OPAQUE;

    public boolean hidesLower() {
        return this == OPAQUE;
    }
}
