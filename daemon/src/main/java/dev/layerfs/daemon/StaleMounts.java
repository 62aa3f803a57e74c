package dev.layerfs.daemon;

import dev.layerfs.core.bytes.ByteString;
import dev.layerfs.core.error.Errno;
import dev.layerfs.core.error.FsException;
import dev.layerfs.core.nativeio.Linux;
import dev.layerfs.core.nativeio.Syscalls;
import dev.layerfs.fuse.MountPlan;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What a dead daemon left: its mounts, recorded in the run directory, still in the mount table as
 * {@code fuse.layerfs} but with no one serving them (every access fails with ENOTCONN). Each is unmounted
 * (lazily: a process may still sit in it) and its record removed, with the ephemeral layer it had; a recorded
 * mount point that is served again (another process mounted there since) or not mounted at all is left alone.
 */
final class StaleMounts {
    private static final Logger LOG = LoggerFactory.getLogger(StaleMounts.class);

    private StaleMounts() {}

    /** Clears the dead mounts recorded under {@code records}; how many were unmounted. */
    static int clear(Path records) {
        Set<String> layerfsMounts = layerfsMountPoints();
        int cleared = 0;
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(records)) {
            for (Path record : ds) {
                String[] lines = new String(Files.readAllBytes(record), StandardCharsets.ISO_8859_1).split("\n");
                String mp = lines[0];
                if (!layerfsMounts.contains(mp)) {
                    LOG.debug("{} is no longer a layerfs mount", mp);
                } else if (!notConnected(mp)) {
                    LOG.debug("{} answers: served by another process since", mp);
                } else {
                    try {
                        ControlCalls.get().umountDetached(mp);
                        cleared++;
                        LOG.info("cleared {}, left by a daemon that died", mp);
                    } catch (FsException e) {
                        LOG.warn("cannot clear the dead mount {}: {}", mp, e.getMessage());
                    }
                }
                if (lines.length > 1 && !lines[1].isEmpty()) {
                    // Only the dead daemon's mount used it; that mount is gone or no longer served.
                    MountPlan.deleteLeftEphemeralLayer(Path.of(lines[1]));
                }
                Files.deleteIfExists(record);
            }
        } catch (IOException e) {
            LOG.warn("cannot read the mount records in {}: {}", records, e.getMessage());
        }
        return cleared;
    }

    /**
     * Opens the mount's root directory: an OPENDIR always reaches the FUSE connection, where a stat may be
     * answered from the attributes the kernel cached before the daemon died.
     */
    private static boolean notConnected(String mountPoint) {
        Syscalls sys = Syscalls.get();
        try {
            sys.close(sys.openat(Linux.AT_FDCWD, ByteString.ofPath(Path.of(mountPoint)).latin1(),
                    Linux.O_RDONLY | Linux.O_DIRECTORY | Linux.O_CLOEXEC, 0));
            return false;
        } catch (FsException e) {
            return e.errno() == Errno.ENOTCONN;
        }
    }

    /** The mount points of this namespace's fuse.layerfs mounts (/proc/self/mountinfo). */
    private static Set<String> layerfsMountPoints() {
        Set<String> out = new HashSet<>();
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/mountinfo"), StandardCharsets.ISO_8859_1)) {
                String[] f = line.split(" ");
                int dash = line.indexOf(" - ");
                if (f.length > 4 && dash > 0 && line.substring(dash + 3).startsWith("fuse.layerfs ")) {
                    out.add(unescape(f[4]));
                }
            }
        } catch (IOException e) {
            LOG.warn("cannot read /proc/self/mountinfo: {}", e.getMessage());
        }
        return out;
    }

    /** mountinfo writes space, tab, newline and backslash as \ooo. */
    private static String unescape(String s) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '\\' && i + 3 < s.length()) {
                sb.append((char) Integer.parseInt(s.substring(i + 1, i + 4), 8));
                i += 3;
            } else {
                sb.append(c);
            }
        }
        return sb.toString();
    }
}
