package dev.layerfs.image.cli;

import dev.layerfs.image.export.Exporter;
import dev.layerfs.image.store.Image;
import dev.layerfs.image.store.ImageIndex;
import dev.layerfs.image.store.ImageStoreException;
import dev.layerfs.image.store.LayerStore;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "export", description = "Write an image as podman load and docker load read it.")
final class ExportCommand implements Callable<Integer> {
    @Mixin
    StoreOption store;

    @Parameters(paramLabel = "IMAGE")
    String ref;

    @Option(names = {"-o", "--output"}, required = true, paramLabel = "FILE")
    Path output;

    @Option(names = "--format", paramLabel = "docker-archive|oci-archive", defaultValue = "docker-archive")
    String format;

    @Override
    public Integer call() throws ImageStoreException {
        Exporter.Format f = switch (format) {
            case "docker-archive" -> Exporter.Format.DOCKER_ARCHIVE;
            case "oci-archive" -> Exporter.Format.OCI_ARCHIVE;
            default -> throw new ImageStoreException("unknown --format " + format
                    + " (docker-archive or oci-archive)");
        };
        LayerStore s = store.open();
        Image image = new ImageIndex(s).resolve(ref);
        String name = image.names().contains(ref) ? ref : image.names().stream().findFirst().orElse(null);
        new Exporter(s).export(image, name, output, f);
        System.out.println("Wrote " + format.toLowerCase(Locale.ROOT) + " " + output);
        return 0;
    }
}
