package dev.layerfs.image.cli;

import dev.layerfs.image.commit.Changes;
import dev.layerfs.image.commit.LowerView;
import dev.layerfs.image.store.ImageStoreException;
import dev.layerfs.image.store.LayerStore;
import java.io.IOException;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "diff", description = "List what a writable layer changed: A added, C changed, D deleted.")
final class DiffCommand implements Callable<Integer> {
    @Mixin
    StoreOption store;

    @Parameters(paramLabel = "MOUNTPOINT|UPPERDIR")
    Path target;

    @Option(names = "--image", paramLabel = "IMAGE[@N]", description = "the image below UPPERDIR")
    String image;

    @Override
    public Integer call() throws ImageStoreException {
        LayerStore s = store.open();
        MountTarget t = MountTarget.resolve(s, target, image);
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
