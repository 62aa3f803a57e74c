package dev.layerfs.image.cli;

import dev.layerfs.image.analysis.Blame;
import dev.layerfs.image.names.ByteNames;
import dev.layerfs.image.store.ImageStoreException;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

final class BlameCommand implements Subcommand {
    static final Usage USAGE = new Usage("blame", "For each path, the layer that last wrote (or deleted) it and the"
                    + " layers it shadows; every path of the image when none is given.")
            .positional("IMAGE", "a name, an ID or an ID prefix")
            .positionals("PATH", "paths in the image", 0);

    @Override
    public Usage usage() {
        return USAGE;
    }

    @Override
    public int run(Args a) throws ImageStoreException {
        ImageLayers layers = ImageLayers.of(StoreOption.from(a).open(), a.positional(0));
        List<Blame.Line> lines;
        try {
            lines = Blame.of(layers.roots(), new ArrayList<>(a.positionalsFrom(1)));
        } catch (IOException e) {
            throw new ImageStoreException("cannot read the layers: " + e.getMessage(), e);
        }
        int missing = 0;
        for (Blame.Line l : lines) {
            String path = ByteNames.display(l.path());
            if (l.writer() < 0) {
                System.out.println(path + "\tnot in the image");
                missing++;
                continue;
            }
            StringBuilder sb = new StringBuilder(path).append('\t')
                    .append(l.deleted() ? "deleted by layer " : "layer ").append(layers.labels().get(l.writer()));
            for (int s : l.shadowed()) {
                sb.append("\n").append(" ".repeat(path.length())).append("\tshadows layer ")
                        .append(layers.labels().get(s));
            }
            System.out.println(sb);
        }
        return missing == 0 ? 0 : 1;
    }
}
