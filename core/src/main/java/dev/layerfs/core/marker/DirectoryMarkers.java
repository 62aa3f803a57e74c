package dev.layerfs.core.marker;

/**
 * What a real directory's markers say: its {@link Opacity}, whether it is impure (the kernel's
 * {@code overlay.impure}: it holds copied-up objects, whose inode numbers in a listing are their origins'), and
 * where its lower content lives if it was moved (the kernel's {@code overlay.redirect}, a byte string: a name in
 * the same parent, or an absolute path from the layers' roots), or null; and whether it carries an origin
 * record ({@code overlay.origin}). For a regular file only {@code redirect} and {@code metacopy} are read: it is a
 * metadata-only copy (the kernel's {@code overlay.metacopy}) whose data lives in a lower layer, at its name or at
 * its redirect.
 */
public record DirectoryMarkers(Opacity opacity, boolean impure, String redirect, boolean origin, boolean metacopy) {
    public static final DirectoryMarkers NONE = new DirectoryMarkers(Opacity.TRANSPARENT, false, null, false, false);

    public DirectoryMarkers(Opacity opacity, boolean impure) {
        this(opacity, impure, null, false, false);
    }

    public DirectoryMarkers(Opacity opacity, boolean impure, String redirect, boolean origin) {
        this(opacity, impure, redirect, origin, false);
    }

    /** A metadata-only regular file's markers. */
    public static DirectoryMarkers metacopyFile(String redirect) {
        return new DirectoryMarkers(Opacity.TRANSPARENT, false, redirect, true, true);
    }

    public DirectoryMarkers withOrigin() {
        return new DirectoryMarkers(opacity, impure, redirect, true, metacopy);
    }
}
