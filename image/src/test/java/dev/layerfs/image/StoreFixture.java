package dev.layerfs.image;

import dev.layerfs.image.importer.Importer;
import dev.layerfs.image.importer.Progress;
import dev.layerfs.image.store.ImageStoreException;
import dev.layerfs.image.store.LayerStore;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;

/** A store in a test's temporary directory, an importer whose output the test can read, and a state hash. */
final class StoreFixture {
    final LayerStore store;
    final ByteArrayOutputStream output = new ByteArrayOutputStream();

    StoreFixture(Path dir) throws ImageStoreException {
        this.store = LayerStore.open(dir.resolve("store"));
    }

    List<String> importArchive(Path archive) throws ImageStoreException {
        Importer importer = new Importer(store, new Progress(new PrintStream(output, true), null));
        return importer.importArchive(archive, Optional.empty());
    }

    String output() {
        return output.toString();
    }

    /** Every path below blobs/, layers/ and index.json with its type and size: what an import may change. */
    String state() {
        StringBuilder sb = new StringBuilder();
        for (String top : List.of("blobs", "layers", "index.json")) {
            Path p = store.root().resolve(top);
            if (!Files.exists(p)) {
                continue;
            }
            try (Stream<Path> s = Files.walk(p)) {
                s.sorted().forEach(q -> sb.append(store.root().relativize(q)).append(' ')
                        .append(Files.isDirectory(q, LinkOption.NOFOLLOW_LINKS) ? "d" : size(q)).append('\n'));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return sb.toString();
    }

    private static long size(Path p) {
        try {
            return Files.size(p);
        } catch (IOException e) {
            return -1;
        }
    }
}
