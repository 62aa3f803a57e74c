package dev.layerfs.core.marker;

/**
 * What a real directory's markers say: its {@link Opacity}, and whether it is impure (the kernel's
 * {@code overlay.impure}: it holds copied-up objects, whose inode numbers in a listing are their origins').
 */
public record DirectoryMarkers(Opacity opacity, boolean impure) {
    public static final DirectoryMarkers NONE = new DirectoryMarkers(Opacity.TRANSPARENT, false);
}
