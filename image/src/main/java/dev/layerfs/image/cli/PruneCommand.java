package dev.layerfs.image.cli;

import dev.layerfs.image.store.GarbageCollector;
import dev.layerfs.image.store.ImageStoreException;

final class PruneCommand implements Subcommand {
    static final Usage USAGE = new Usage("prune", "Remove the layers and blobs no image uses (never a mounted layer).");

    @Override
    public Usage usage() {
        return USAGE;
    }

    @Override
    public int run(Args a) throws ImageStoreException {
        GarbageCollector.Result r = new GarbageCollector(StoreOption.from(a).open()).collect();
        r.layers().forEach(d -> System.out.println("Deleted layer: " + d.hex()));
        r.inUse().forEach(d -> System.out.println("Kept layer " + d.hex() + ": in use by a mount"));
        System.out.println("Deleted " + r.layers().size() + " layers, " + r.blobs() + " blobs");
        return 0;
    }
}
