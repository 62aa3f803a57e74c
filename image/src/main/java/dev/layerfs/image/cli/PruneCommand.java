package dev.layerfs.image.cli;

import dev.layerfs.image.store.GarbageCollector;
import dev.layerfs.image.store.ImageStoreException;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

@Command(name = "prune", description = "Remove the layers and blobs no image uses (never a mounted layer).")
final class PruneCommand implements Callable<Integer> {
    @Mixin
    StoreOption store;

    @Override
    public Integer call() throws ImageStoreException {
        GarbageCollector.Result r = new GarbageCollector(store.open()).collect();
        r.layers().forEach(d -> System.out.println("Deleted layer: " + d.hex()));
        r.inUse().forEach(d -> System.out.println("Kept layer " + d.hex() + ": in use by a mount"));
        System.out.println("Deleted " + r.layers().size() + " layers, " + r.blobs() + " blobs");
        return 0;
    }
}
