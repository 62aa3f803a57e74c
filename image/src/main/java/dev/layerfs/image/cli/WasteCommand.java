package dev.layerfs.image.cli;

import dev.layerfs.image.names.ByteNames;
import dev.layerfs.image.analysis.Waste;
import dev.layerfs.image.names.ByteNames;
import dev.layerfs.image.history.Table;
import dev.layerfs.image.names.ByteNames;
import dev.layerfs.image.importer.Sizes;
import dev.layerfs.image.names.ByteNames;
import dev.layerfs.image.store.ImageStoreException;
import java.io.IOException;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "waste", description = "Files written by one layer and overwritten or deleted by a later one, "
        + "biggest first, and the image's efficiency as dive computes it.")
final class WasteCommand implements Callable<Integer> {
    @Mixin
    StoreOption store;

    @Parameters(paramLabel = "IMAGE")
    String ref;

    @Option(names = "--top", paramLabel = "N", defaultValue = "20", description = "rows to show (default 20)")
    int top;

    @Override
    public Integer call() throws ImageStoreException {
        ImageLayers layers = ImageLayers.of(store.open(), ref);
        Waste.Report r;
        try {
            r = Waste.of(layers.roots());
        } catch (IOException e) {
            throw new ImageStoreException("cannot read the layers: " + e.getMessage(), e);
        }
        Table t = new Table("COUNT", "TOTAL SPACE", "PATH", "LAYERS");
        r.entries().stream().limit(top).forEach(e -> t.add(Integer.toString(e.count()), Sizes.human(e.totalBytes()),
                ByteNames.display(e.path()), e.layers().stream().map(i -> Integer.toString(i + 1)).collect(Collectors.joining(","))));
        t.print(System.out);
        System.out.println();
        System.out.println("Potential wasted space: " + Sizes.human(r.wastedBytes()));
        System.out.println("Image efficiency score: " + String.format(Locale.ROOT, "%.2f %%", 100 * r.efficiency()));
        return 0;
    }
}
