package dev.layerfs.image.cli;

import dev.layerfs.image.history.LayerSteps;
import dev.layerfs.image.store.Digest;
import dev.layerfs.image.store.Image;
import dev.layerfs.image.store.ImageIndex;
import dev.layerfs.image.store.ImageStoreException;
import dev.layerfs.image.store.LayerStore;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** An image's extracted layers (base first) with a label for each, for blame and waste. */
record ImageLayers(List<Path> roots, List<String> labels) {
    static ImageLayers of(LayerStore store, String ref) throws ImageStoreException {
        Image image = new ImageIndex(store).resolve(ref);
        List<Digest> ids = image.diffIds();
        List<String> steps = LayerSteps.createdBy(image, ids.size());
        List<Path> roots = new ArrayList<>();
        List<String> labels = new ArrayList<>();
        for (int i = 0; i < ids.size(); i++) {
            if (!store.hasLayer(ids.get(i))) {
                throw new ImageStoreException("layer " + ids.get(i).shortHex() + " is missing from the store");
            }
            roots.add(store.layerRoot(ids.get(i)));
            labels.add((i + 1) + " " + ids.get(i).shortHex() + " " + oneLine(steps.get(i)));
        }
        return new ImageLayers(roots, labels);
    }

    private static String oneLine(String s) {
        String l = s.replace('\n', ' ');
        return l.length() > 60 ? l.substring(0, 57) + "..." : l;
    }
}
