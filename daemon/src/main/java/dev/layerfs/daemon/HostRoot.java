package dev.layerfs.daemon;

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
            return identityMap(Files.readString(UID_MAP, StandardCharsets.US_ASCII));
        } catch (IOException e) {
            return true;
        }
    }

    /** Whether a {@code uid_map}'s text is the initial namespace's: one line mapping all ids to themselves. */
    static boolean identityMap(String uidMap) {
        String[] fields = uidMap.trim().split("\\s+");
        return fields.length == 3 && fields[0].equals("0") && fields[1].equals("0") && fields[2].equals("4294967295");
    }
}
