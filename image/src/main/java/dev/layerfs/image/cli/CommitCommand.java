package dev.layerfs.image.cli;

import dev.layerfs.image.commit.Committer;
import dev.layerfs.image.store.ImageStoreException;
import dev.layerfs.image.store.LayerStore;
import java.nio.file.Path;
import java.util.List;

final class CommitCommand implements Subcommand {
    static final Usage USAGE = new Usage("commit", "Make a mount's writable layer the top layer of a new image.")
            .option(List.of("--tag"), "NAME:TAG", "the new image's name", true)
            .option("--image", "IMAGE[@N]", "the image below UPPERDIR")
            .option("--created-by", "TEXT", "the history entry's created_by (default: layerfs image commit)")
            .option("--comment", "TEXT", "the history entry's comment")
            .positional("MOUNTPOINT|UPPERDIR", "a mount image mount made, or a writable layer");

    @Override
    public Usage usage() {
        return USAGE;
    }

    @Override
    public int run(Args a) throws ImageStoreException {
        String tag = a.value("--tag", null);
        String createdBy = a.value("--created-by", "layerfs image commit");
        String comment = a.value("--comment", "");
        LayerStore s = StoreOption.from(a).open();
        MountTarget t = MountTarget.resolve(s, Path.of(a.positional(0)), a.value("--image", null));
        String name = tag.lastIndexOf(':') > tag.lastIndexOf('/') ? tag : tag + ":latest";
        Committer.Result r = new Committer(s).commit(t.upper(), t.image(), t.layers(), name, createdBy, comment);
        System.out.println("layer " + r.diffId());
        System.out.println("Committed " + name + " " + r.imageId().hex());
        return 0;
    }
}
