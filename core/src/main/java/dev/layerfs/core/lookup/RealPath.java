package dev.layerfs.core.lookup;

import dev.layerfs.core.marker.DirectoryMarkers;
import dev.layerfs.core.marker.Opacity;
import dev.layerfs.core.model.Layer;
import dev.layerfs.core.nativeio.Stat;

/**
 * A real object behind a merged name: the layer, its path relative to the layer (a byte string), its stat when
 * looked up, and for a directory what its markers say.
 */
public record RealPath(Layer layer, String path, Stat stat, DirectoryMarkers markers) {
    public boolean isUpper() {
        return layer.upper();
    }

    public Opacity opacity() {
        return markers.opacity();
    }
}
