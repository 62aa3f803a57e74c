package dev.layerfs.fuse.kernel;

import dev.layerfs.core.attr.Privileges;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The groups of a request's caller, for the one decision that needs them (whether a write by a caller without
 * CAP_FSETID takes setgid from a file without group execution, see {@link Privileges}): its gid, which the request
 * carries, then the supplementary groups of its thread, read from {@code /proc/PID/status} only where asked (the
 * request names the thread by its id in the daemon's pid namespace). Where they cannot be read the caller is taken
 * to be in the group, and the bit stays.
 */
final class CallerGroups implements Privileges.Groups {
    private final int gid;
    private final int pid;

    private CallerGroups(int gid, int pid) {
        this.gid = gid;
        this.pid = pid;
    }

    static Privileges.Groups of(Request r) {
        return new CallerGroups(r.gid, r.pid);
    }

    @Override
    public boolean contains(int g) {
        if (g == gid) {
            return true;
        }
        if (pid <= 0) {
            return true;
        }
        try {
            for (String line : Files.readAllLines(Path.of("/proc", Integer.toString(pid), "status"),
                    StandardCharsets.ISO_8859_1)) {
                if (line.startsWith("Groups:")) {
                    for (String s : line.substring("Groups:".length()).trim().split("\\s+")) {
                        if (!s.isEmpty() && Integer.parseInt(s) == g) {
                            return true;
                        }
                    }
                    return false;
                }
            }
        } catch (IOException | NumberFormatException e) {
            return true;
        }
        return true;
    }
}
