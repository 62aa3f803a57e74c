package dev.layerfs.image.cli;

import dev.layerfs.image.store.ImageStoreException;
import dev.layerfs.image.store.LayerStore;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/** {@code --store DIR}; else LAYERFS_STORE; else /var/lib/layerfs for root, ~/.local/share/layerfs otherwise. */
final class StoreOption {
    @Option(names = "--store", paramLabel = "DIR", description = "the layer store (default: $LAYERFS_STORE, "
            + "else /var/lib/layerfs as root)")
    Path store;

    Path path() {
        if (store != null) {
            return store;
        }
        String env = System.getenv("LAYERFS_STORE");
        if (env != null && !env.isEmpty()) {
            return Path.of(env);
        }
        if ("root".equals(System.getProperty("user.name"))) {
            return Path.of("/var/lib/layerfs");
        }
        return Path.of(System.getProperty("user.home"), ".local/share/layerfs");
    }

    LayerStore open() throws ImageStoreException {
        return LayerStore.open(path());
    }
}
