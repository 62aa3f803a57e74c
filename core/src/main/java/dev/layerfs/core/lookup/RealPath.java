package dev.layerfs.core.lookup;

import dev.layerfs.core.model.Layer;
import dev.layerfs.core.nativeio.Stat;
import dev.layerfs.core.whiteout.Opacity;

/**
 * A real object behind a merged name: the layer, its path relative to the layer, its stat when looked up, and
 * for a directory what its markers say.
 */
public record RealPath(Layer layer, String path, Stat stat, Opacity opacity) {
    public boolean isUpper() {
        return layer.upper();
    }

    public String absolute() {
        return layer.absolute(path);
    }
}
