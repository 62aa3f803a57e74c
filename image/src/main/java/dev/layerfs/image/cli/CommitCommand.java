package dev.layerfs.image.cli;

import dev.layerfs.image.commit.Committer;
import dev.layerfs.image.store.ImageStoreException;
import dev.layerfs.image.store.LayerStore;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "commit", description = "Make a mount's writable layer the top layer of a new image.")
final class CommitCommand implements Callable<Integer> {
    @Mixin
    StoreOption store;

    @Parameters(paramLabel = "MOUNTPOINT|UPPERDIR")
    Path target;

    @Option(names = "--tag", required = true, paramLabel = "NAME:TAG")
    String tag;

    @Option(names = "--image", paramLabel = "IMAGE[@N]", description = "the image below UPPERDIR")
    String image;

    @Option(names = "--created-by", paramLabel = "TEXT", defaultValue = "layerfs image commit",
            description = "the history entry's created_by (default: ${DEFAULT-VALUE})")
    String createdBy;

    @Option(names = "--comment", paramLabel = "TEXT", defaultValue = "")
    String comment;

    @Override
    public Integer call() throws ImageStoreException {
        LayerStore s = store.open();
        MountTarget t = MountTarget.resolve(s, target, image);
        String name = tag.lastIndexOf(':') > tag.lastIndexOf('/') ? tag : tag + ":latest";
        Committer.Result r = new Committer(s).commit(t.upper(), t.image(), t.layers(), name, createdBy, comment);
        System.out.println("layer " + r.diffId());
        System.out.println("Committed " + name + " " + r.imageId().hex());
        return 0;
    }
}
