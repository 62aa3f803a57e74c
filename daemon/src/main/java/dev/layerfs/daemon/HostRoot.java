package dev.layerfs.daemon;

import dev.layerfs.core.nativeio.HostAdmin;

/**
 * Whether this process is root of the host: user id 0 in the initial user namespace, whose {@code uid_map} maps
 * every id to itself ({@code 0 0 4294967295}). Root of another user namespace (a daemon started by rootless
 * podman's mount program) is its user with that user's run directory, as the mount client decides too.
 */
final class HostRoot {
    private HostRoot() {
    }

    static boolean is(int euid) {
        return euid == 0 && HostAdmin.inInitialUserNamespace();
    }
}
