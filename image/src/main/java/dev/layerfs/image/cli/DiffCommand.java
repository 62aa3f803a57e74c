package dev.layerfs.image.cli;

import dev.layerfs.image.commit.Changes;
import dev.layerfs.image.commit.LowerView;
import dev.layerfs.image.store.ImageStoreException;
import dev.layerfs.image.store.LayerStore;
import java.io.IOException;
import java.nio.file.Path;

final class DiffCommand implements Subcommand {
    static final Usage USAGE = new Usage("diff", "List what a writable layer changed: A added, C changed, D deleted.")
            .option("--image", "IMAGE[@N]", "the image below UPPERDIR")
            .positional("MOUNTPOINT|UPPERDIR", "a mount image mount made, or a writable layer");

    @Override
    public Usage usage() {
        return USAGE;
    }

    @Override
    public int run(Args a) throws ImageStoreException {
        LayerStore s = StoreOption.from(a).open();
        MountTarget t = MountTarget.resolve(s, Path.of(a.positional(0)), a.value("--image", null));
        try {
            for (Changes.Change c : Changes.of(t.upper(), new LowerView(t.lowerRoots(s)))) {
                System.out.println(c);
            }
        } catch (IOException e) {
            throw new ImageStoreException("cannot read " + t.upper() + ": " + e.getMessage(), e);
        }
        return 0;
    }
}
