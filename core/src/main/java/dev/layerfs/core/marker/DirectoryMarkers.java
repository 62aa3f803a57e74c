package dev.layerfs.core.marker;

/**
 * What a real directory's markers say: its {@link Opacity}, whether it is impure (the kernel's
 * {@code overlay.impure}: it holds copied-up objects, whose inode numbers in a listing are their origins'), and
 * where its lower content lives if it was moved (the kernel's {@code overlay.redirect}, a byte string: a name in
 * the same parent, or an absolute path from the layers' roots), or null.
 */
public record DirectoryMarkers(Opacity opacity, boolean impure, String redirect) {
    public static final DirectoryMarkers NONE = new DirectoryMarkers(Opacity.TRANSPARENT, false, null);

    public DirectoryMarkers(Opacity opacity, boolean impure) {
        this(opacity, impure, null);
    }
}
