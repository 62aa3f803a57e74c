package dev.layerfs.image.cli;

import dev.layerfs.image.store.ImageStoreException;
import dev.layerfs.image.store.LayerStore;
import java.nio.file.Path;

/** {@code --store DIR}; else LAYERFS_STORE; else /var/lib/layerfs for root, ~/.local/share/layerfs otherwise. */
final class StoreOption {
    private final Path store;

    private StoreOption(Path store) {
        this.store = store;
    }

    /** The {@code --store} of a command line (every {@link Usage} has it). */
    static StoreOption from(Args a) {
        String dir = a.value("--store", null);
        return new StoreOption(dir == null ? null : Path.of(dir));
    }

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
