package dev.layerfs.image.cli;

import dev.layerfs.image.analysis.Waste;
import dev.layerfs.image.history.Table;
import dev.layerfs.image.importer.Sizes;
import dev.layerfs.image.names.ByteNames;
import dev.layerfs.image.store.ImageStoreException;
import java.io.IOException;
import java.util.Locale;
import java.util.stream.Collectors;

final class WasteCommand implements Subcommand {
    static final Usage USAGE = new Usage("waste", "Files written by one layer and overwritten or deleted by a later"
                    + " one, biggest first, and the image's efficiency as dive computes it.")
            .option("--top", "N", "rows to show (default 20)")
            .positional("IMAGE", "a name, an ID or an ID prefix");

    @Override
    public Usage usage() {
        return USAGE;
    }

    @Override
    public int run(Args a) throws ImageStoreException, UsageException {
        int top = a.intValue("--top", 20);
        ImageLayers layers = ImageLayers.of(StoreOption.from(a).open(), a.positional(0));
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
