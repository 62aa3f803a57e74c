package dev.layerfs.core.nativeio;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Whether this process holds CAP_SYS_ADMIN in the initial user namespace, which the kernel asks of whoever sets a
 * {@code trusted.*} xattr or registers a FUSE passthrough backing file. Root of the host does; root of another user
 * namespace (rootless podman's mount program, and a daemon it started there) and an unprivileged user do not, and
 * trying costs each of their mounts a refused system call and a log line. Read once a process: the effective
 * capabilities from {@code /proc/self/status}, and the user namespace from {@code /proc/self/uid_map} (the initial
 * one maps every id to itself). Where either cannot be read the process is taken to hold it, and the kernel's
 * refusal says otherwise.
 */
public final class HostAdmin {
    private static final int CAP_SYS_ADMIN = 21;

    private HostAdmin() {}

    private static final class Holder {
        static final String UID_MAP = read("/proc/self/uid_map");
        static final boolean INITIAL = UID_MAP == null || identityMap(UID_MAP);
        static final boolean ABLE = readAble();
    }

    /** Whether this process holds CAP_SYS_ADMIN in the initial user namespace (see the class comment). */
    public static boolean able() {
        return Holder.ABLE;
    }

    /** Whether this process is in the initial user namespace (taken to be where its uid_map cannot be read). */
    public static boolean inInitialUserNamespace() {
        return Holder.INITIAL;
    }

    private static boolean readAble() {
        String status = read("/proc/self/status");
        try {
            return Holder.UID_MAP == null || status == null || able(status, Holder.UID_MAP);
        } catch (RuntimeException e) {
            return true;
        }
    }

    /** A small file of /proc, or null where it cannot be read. */
    private static String read(String path) {
        try {
            return Files.readString(Path.of(path), StandardCharsets.US_ASCII);
        } catch (IOException e) {
            return null;
        }
    }

    /** Whether a {@code /proc/PID/status} and {@code uid_map} say CAP_SYS_ADMIN in the initial user namespace. */
    static boolean able(String status, String uidMap) {
        if (!identityMap(uidMap)) {
            return false;
        }
        for (String line : status.split("\n")) {
            if (line.startsWith("CapEff:")) {
                long caps = Long.parseUnsignedLong(line.substring("CapEff:".length()).trim(), 16);
                return (caps & (1L << CAP_SYS_ADMIN)) != 0;
            }
        }
        return true;
    }

    /** Whether a {@code uid_map}'s text is the initial user namespace's: one line mapping all ids to themselves. */
    public static boolean identityMap(String uidMap) {
        String[] fields = uidMap.trim().split("\\s+");
        return fields.length == 3 && fields[0].equals("0") && fields[1].equals("0") && fields[2].equals("4294967295");
    }
}
