package dev.layerfs.image.cli;

import dev.layerfs.image.store.ImageStoreException;
import dev.layerfs.image.store.LayerStore;
import java.nio.file.Path;
import java.util.Map;

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
        return path(System.getenv(), "root".equals(System.getProperty("user.name")),
                Path.of(System.getProperty("user.home")));
    }

    /**
     * The store of a command run elsewhere (the resident daemon mounts for a client): a relative {@code --store}
     * taken from {@code cwd}, LAYERFS_STORE from {@code env}, the default for {@code root} or the user whose home
     * is {@code home}.
     */
    Path path(Map<String, String> env, boolean root, Path home) {
        if (store != null) {
            return store;
        }
        String fromEnv = env.get("LAYERFS_STORE");
        if (fromEnv != null && !fromEnv.isEmpty()) {
            return Path.of(fromEnv);
        }
        return root ? Path.of("/var/lib/layerfs") : home.resolve(".local/share/layerfs");
    }

    LayerStore open() throws ImageStoreException {
        return LayerStore.open(path());
    }
}
