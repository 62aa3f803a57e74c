package dev.layerfs.core.marker;

/**
 * What a real directory's markers say: its {@link Opacity}, whether it is impure (the kernel's
 * {@code overlay.impure}: it holds copied-up objects, whose inode numbers in a listing are their origins'), and
 * where its lower content lives if it was moved (the kernel's {@code overlay.redirect}, a byte string: a name in
 * the same parent, or an absolute path from the layers' roots), or null; and whether it carries an origin
 * record ({@code overlay.origin}).
 */
public record DirectoryMarkers(Opacity opacity, boolean impure, String redirect, boolean origin) {
    public static final DirectoryMarkers NONE = new DirectoryMarkers(Opacity.TRANSPARENT, false, null, false);

    public DirectoryMarkers(Opacity opacity, boolean impure) {
        this(opacity, impure, null, false);
    }

    public DirectoryMarkers withOrigin() {
        return new DirectoryMarkers(opacity, impure, redirect, true);
    }
}
