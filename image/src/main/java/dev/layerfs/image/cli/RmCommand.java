package dev.layerfs.image.cli;

import dev.layerfs.image.store.Digest;
import dev.layerfs.image.store.GarbageCollector;
import dev.layerfs.image.store.Image;
import dev.layerfs.image.store.ImageIndex;
import dev.layerfs.image.store.ImageStoreException;
import dev.layerfs.image.store.Json;
import dev.layerfs.image.store.LayerStore;
import dev.layerfs.image.store.MountRecords;
import java.io.IOException;
import java.nio.file.Files;
import java.util.List;

/**
 * {@code image rm}: given a name of an image that has others, removes that name only (as podman does); else
 * removes the image, refusing while {@code image mount} has it mounted, then the layers no image uses any more.
 */
final class RmCommand implements Subcommand {
    static final Usage USAGE = new Usage("rm", "Remove images (or one name of an image with several).")
            .positionals("IMAGE", "names, IDs or ID prefixes", 1);

    @Override
    public Usage usage() {
        return USAGE;
    }

    @Override
    public int run(Args a) throws ImageStoreException, IOException {
        LayerStore s = StoreOption.from(a).open();
        ImageIndex index = new ImageIndex(s);
        for (String ref : a.positionalsFrom(0)) {
            Image image = index.resolve(ref);
            String name = image.names().stream().filter(n -> n.equals(ref) || n.equals(ref + ":latest")
                    || n.equals("localhost/" + ref) || n.equals("localhost/" + ref + ":latest")).findFirst()
                    .orElse(null);
            if (name != null && image.names().size() > 1) {
                List<String> rest = image.names().stream().filter(n -> !n.equals(name)).toList();
                index.remove(image);
                index.add(Json.descriptor(Json.OCI_MANIFEST, image.manifestDigest(),
                        Files.size(s.blob(image.manifestDigest()))), rest);
                System.out.println("Untagged: " + name);
                continue;
            }
            for (MountRecords.Record r : new MountRecords(s).live()) {
                if (r.manifest().equals(image.manifestDigest())) {
                    throw new ImageStoreException("image " + ref + " is mounted at " + r.mountPoint()
                            + ": unmount it first");
                }
            }
            index.remove(image);
            image.names().forEach(n -> System.out.println("Untagged: " + n));
            System.out.println("Deleted: " + image.id().hex());
        }
        GarbageCollector.Result r = new GarbageCollector(s).collect();
        for (Digest d : r.layers()) {
            System.out.println("Deleted layer: " + d.hex());
        }
        return 0;
    }
}
