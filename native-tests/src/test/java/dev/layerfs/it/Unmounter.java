package dev.layerfs.it;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/** umount, and umount -l where the mount is busy; only ever for a mount point that a test made. */
final class Unmounter {
    static final Duration DAEMON_EXIT_LIMIT = Duration.ofSeconds(10);

    private Unmounter() {}

    /** Unmounts every mount stacked at a path; throws if one stays. */
    static void unmount(Path mountPoint) {
        int guard = 0;
        while (MountInfo.isMounted(mountPoint)) {
            if (++guard > 4) {
                throw new AssertionError("cannot unmount " + mountPoint + ": " + MountInfo.at(mountPoint));
            }
            Sh.Result r = Sh.run("umount", mountPoint.toString());
            if (r.exitCode() != 0 && MountInfo.isMounted(mountPoint)) {
                // Busy (or the daemon is gone: "Transport endpoint is not connected"): detach it lazily.
                Sh.run("umount", "-l", mountPoint.toString());
            }
        }
    }

    /** Waits for daemons to end after their unmount; kills (only) those that do not, and says so. */
    static void reap(List<Daemon> daemons, String why) {
        reap(daemons, why, DAEMON_EXIT_LIMIT);
    }

    static void reap(List<Daemon> daemons, String why, Duration limit) {
        StringBuilder failures = new StringBuilder();
        for (Daemon d : daemons) {
            if (!d.awaitExit(limit)) {
                d.kill();
                failures.append(d).append(" did not exit within ").append(limit.toMillis() / 1000.0)
                        .append(" s after ").append(why).append(" (killed with SIGKILL); ");
            }
        }
        if (failures.length() > 0) {
            throw new AssertionError(failures.toString().trim());
        }
    }
}
