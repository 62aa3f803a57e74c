package dev.layerfs.image.cli;

import dev.layerfs.image.store.Image;
import dev.layerfs.image.store.ImageIndex;
import dev.layerfs.image.store.ImageStoreException;
import dev.layerfs.image.store.LayerSelection;
import dev.layerfs.image.store.LayerStore;
import dev.layerfs.image.store.MountRecords;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * The writable layer and the image below it that {@code image diff} and {@code image commit} work on: a mount
 * point made by {@code image mount} (its record knows both), or an upper directory with {@code --image}.
 */
record MountTarget(Path upper, Image image, int layers) {
    static MountTarget resolve(LayerStore store, Path target, String imageRef) throws ImageStoreException {
        try {
            if (!Files.isDirectory(target)) {
                throw new ImageStoreException(target + " is not a directory");
            }
            Path real = target.toRealPath();
            ImageIndex index = new ImageIndex(store);
            if (imageRef != null) {
                String[] parts = LayerSelection.split(imageRef);
                Image image = index.resolve(parts[0]);
                return new MountTarget(real, image, LayerSelection.count(image, parts[1]));
            }
            MountRecords.Record r = new MountRecords(store).find(real).orElseThrow(() -> new ImageStoreException(
                    target + " is not a mount made by layerfs image mount (for an upper directory, add --image)"));
            Path upper = r.upper().orElseThrow(() -> new ImageStoreException(target
                    + " is mounted read-only: it has no writable layer (mount with -o ephemeral or upperdir=)"));
            Image image = null;
            for (Image i : index.images()) {
                if (i.manifestDigest().equals(r.manifest())) {
                    image = i;
                }
            }
            if (image == null) {
                image = index.load(r.manifest(), List.of());
            }
            return new MountTarget(upper, image, r.layers());
        } catch (IOException e) {
            throw new ImageStoreException("cannot read " + target + ": " + e.getMessage(), e);
        }
    }

    /** The roots of the image's first {@code layers} layers, topmost first. */
    List<Path> lowerRoots(LayerStore store) throws ImageStoreException {
        List<Path> roots = new java.util.ArrayList<>();
        List<dev.layerfs.image.store.Digest> ids = image.diffIds();
        for (int i = layers - 1; i >= 0; i--) {
            roots.add(store.layerRoot(ids.get(i)));
        }
        return roots;
    }
}
