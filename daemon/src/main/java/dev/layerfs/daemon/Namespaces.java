package dev.layerfs.daemon;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Which mount namespace a descriptor on {@code /proc/PID/ns/mnt} names, compared with the daemon's own. */
final class Namespaces {
    private Namespaces() {}

    /** True where the descriptor names the daemon's own mount namespace (or cannot be read: assumed so). */
    static boolean isOwnMountNamespace(int nsFd) {
        try {
            Path own = Files.readSymbolicLink(Path.of("/proc/self/ns/mnt"));
            Path given = Files.readSymbolicLink(Path.of("/proc/self/fd/" + nsFd));
            return own.equals(given);
        } catch (IOException e) {
            return true;
        }
    }
}
