package dev.layerfs.image.cli;

import dev.layerfs.image.history.HumanTime;
import dev.layerfs.image.history.Table;
import dev.layerfs.image.importer.Sizes;
import dev.layerfs.image.store.Digest;
import dev.layerfs.image.store.Image;
import dev.layerfs.image.store.ImageIndex;
import dev.layerfs.image.store.ImageStoreException;
import dev.layerfs.image.store.LayerInfo;
import dev.layerfs.image.store.LayerStore;
import java.time.Instant;

final class LsCommand implements Subcommand {
    static final Usage USAGE = new Usage("ls", "List the images in the store, as podman images does (alias: list).");

    @Override
    public Usage usage() {
        return USAGE;
    }

    @Override
    public int run(Args a) throws ImageStoreException {
        LayerStore s = StoreOption.from(a).open();
        Table t = new Table("REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE");
        Instant now = Instant.now();
        for (Image i : new ImageIndex(s).images()) {
            long size = 0;
            for (Digest d : i.diffIds()) {
                size += LayerInfo.read(s, d).size();
            }
            String age = HumanTime.ago(i.created(), now);
            if (i.names().isEmpty()) {
                t.add("<none>", "<none>", i.id().shortHex(), age, Sizes.human(size));
            }
            for (String n : i.names()) {
                int colon = n.lastIndexOf(':');
                boolean tagged = colon > n.lastIndexOf('/');
                t.add(tagged ? n.substring(0, colon) : n, tagged ? n.substring(colon + 1) : "<none>",
                        i.id().shortHex(), age, Sizes.human(size));
            }
        }
        t.print(System.out);
        return 0;
    }
}
