package dev.layerfs.image.cli;

import dev.layerfs.image.importer.Importer;
import dev.layerfs.image.importer.Progress;
import dev.layerfs.image.store.ImageStoreException;
import java.nio.file.Path;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "import", description = "Import a docker-archive or an OCI layout (directory or tar).")
final class ImportCommand implements Callable<Integer> {
    @Mixin
    StoreOption store;

    @Parameters(paramLabel = "FILE|DIR", description = "what docker/podman save or skopeo copy wrote")
    Path archive;

    @Option(names = "--tag", paramLabel = "NAME:TAG", description = "the name to give the image")
    String tag;

    @Override
    public Integer call() throws ImageStoreException {
        Importer importer = new Importer(store.open(), Progress.forTerminal(System.out, System.err));
        for (String name : importer.importArchive(archive, Optional.ofNullable(tag))) {
            System.out.println("Loaded image: " + name);
        }
        return 0;
    }
}
