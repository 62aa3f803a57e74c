package dev.layerfs.daemon;

import dev.layerfs.core.nativeio.HostAdmin;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Whether this process is root of the host: user id 0 in the initial user namespace, whose {@code uid_map} maps
 * every id to itself ({@code 0 0 4294967295}). Root of another user namespace (a daemon started by rootless
 * podman's mount program) is its user with that user's run directory, as the mount client decides too.
 */
final class HostRoot {
    private static final Path UID_MAP = Path.of("/proc/self/uid_map");

    private HostRoot() {
    }

    static boolean is(int euid) {
        if (euid != 0) {
            return false;
        }
        try {
            return HostAdmin.identityMap(Files.readString(UID_MAP, StandardCharsets.US_ASCII));
        } catch (IOException e) {
            return true;
        }
    }
}
