package dev.layerfs.image.cli;

import dev.layerfs.image.importer.Importer;
import dev.layerfs.image.importer.Progress;
import dev.layerfs.image.store.ImageStoreException;
import java.nio.file.Path;
import java.util.Optional;

final class ImportCommand implements Subcommand {
    static final Usage USAGE = new Usage("import", "Import a docker-archive or an OCI layout (directory or tar).")
            .option("--tag", "NAME:TAG", "the name to give the image")
            .positional("FILE|DIR", "what docker/podman save or skopeo copy wrote");

    @Override
    public Usage usage() {
        return USAGE;
    }

    @Override
    public int run(Args a) throws ImageStoreException {
        Importer importer = new Importer(StoreOption.from(a).open(), Progress.forTerminal(System.out, System.err));
        for (String name : importer.importArchive(Path.of(a.positional(0)),
                Optional.ofNullable(a.value("--tag", null)))) {
            System.out.println("Loaded image: " + name);
        }
        return 0;
    }
}
