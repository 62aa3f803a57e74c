package dev.layerfs.image.cli;

import dev.layerfs.image.export.Exporter;
import dev.layerfs.image.store.Image;
import dev.layerfs.image.store.ImageIndex;
import dev.layerfs.image.store.ImageStoreException;
import dev.layerfs.image.store.LayerStore;
import java.nio.file.Path;
import java.util.List;

final class ExportCommand implements Subcommand {
    static final Usage USAGE = new Usage("export", "Write an image as podman load and docker load read it.")
            .option(List.of("-o", "--output"), "FILE", "the archive to write", true)
            .option("--format", "docker-archive|oci-archive", "docker-archive (default) or oci-archive")
            .positional("IMAGE", "a name, an ID or an ID prefix");

    @Override
    public Usage usage() {
        return USAGE;
    }

    @Override
    public int run(Args a) throws ImageStoreException {
        String ref = a.positional(0);
        Path output = Path.of(a.value("--output", null));
        String format = a.value("--format", "docker-archive");
        Exporter.Format f = switch (format) {
            case "docker-archive" -> Exporter.Format.DOCKER_ARCHIVE;
            case "oci-archive" -> Exporter.Format.OCI_ARCHIVE;
            default -> throw new ImageStoreException("unknown --format " + format
                    + " (docker-archive or oci-archive)");
        };
        LayerStore s = StoreOption.from(a).open();
        Image image = new ImageIndex(s).resolve(ref);
        String name = image.names().contains(ref) ? ref : image.names().stream().findFirst().orElse(null);
        new Exporter(s).export(image, name, output, f);
        System.out.println("Wrote " + format + " " + output);
        return 0;
    }
}
