package dev.layerfs.image.store;

import java.io.FileInputStream;
import java.io.IOException;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/** What the kernel, the running processes and layerfs daemons say is in use: mount points and layer directories. */
public final class ProcMounts {
    private ProcMounts() {}

    /**
     * The mount points of fuse.layerfs mounts, from /proc/self/mountinfo (octal escapes decoded). A mount point is
     * bytes, as the kernel has it: each is decoded as this JVM decodes file names ({@code sun.jnu.encoding}:
     * exactly in the image commands' ISO-8859-1 locale); one this JVM cannot name as a path is left out.
     */
    public static List<Path> layerfsMountPoints() throws IOException {
        return layerfsMountPoints(Path.of("/proc/self/mountinfo"));
    }

    /** The same, in the mount namespace of process {@code pid} (its /proc/PID/mountinfo). */
    public static List<Path> layerfsMountPoints(long pid) throws IOException {
        return layerfsMountPoints(Path.of("/proc", Long.toString(pid), "mountinfo"));
    }

    static List<Path> layerfsMountPoints(Path mountinfo) throws IOException {
        List<Path> out = new ArrayList<>();
        for (String line : lines(mountinfo)) {
            int dash = line.indexOf(" - ");
            // the filesystem type first, before a line is split: most of a host's mounts are not layerfs's
            if (dash < 0 || !line.startsWith("fuse.layerfs ", dash + 3)) {
                continue;
            }
            String[] before = line.substring(0, dash).split(" ");
            if (before.length > 4) {
                try {
                    out.add(Path.of(new String(unescape(before[4]).getBytes(StandardCharsets.ISO_8859_1), NAMES)));
                } catch (InvalidPathException e) {
                    // a name this JVM's charset cannot encode again (US-ASCII in the POSIX locale)
                }
            }
        }
        return out;
    }

    /**
     * A /proc file's lines, each byte one char (ISO-8859-1): the mount table holds names of any bytes, another
     * mount's among them, and only the mount points wanted are decoded. Read through a FileInputStream: this is on
     * the path of every image mount, and a reader's first use cost it 2 ms of CPU time.
     */
    private static String[] lines(Path file) throws IOException {
        try (FileInputStream in = new FileInputStream(file.toFile())) {
            return new String(in.readAllBytes(), StandardCharsets.ISO_8859_1).split("\n");
        }
    }

    /**
     * What says which directories layerfs mounts use, one text each: the command line of every process (NULs as
     * spaces; a layerfs daemon's holds its lowerdir and upperdir options), and the record of every mount a
     * {@code layerfs serve} daemon serves (one line per layer directory: daemon/MountRegistry), from the run
     * directories such daemons use: {@code $LAYERFS_RUN_DIR}, {@code /run/layerfs}, and each
     * {@code /run/user/UID/layerfs}. This is how {@code image rm} and {@code prune} see that a layer is mounted, by
     * {@code image mount} or by hand, through a daemon or not.
     */
    public static List<String> mountDescriptions() throws IOException {
        List<String> out = new ArrayList<>();
        try (Stream<Path> procs = Files.list(Path.of("/proc"))) {
            for (Path p : procs.toList()) {
                if (p.getFileName().toString().matches("[0-9]+")) {
                    readQuietly(p.resolve("cmdline"), out);
                }
            }
        }
        List<Path> runDirs = new ArrayList<>();
        String env = System.getenv("LAYERFS_RUN_DIR");
        if (env != null && !env.isEmpty()) {
            runDirs.add(Path.of(env));
        }
        runDirs.add(Path.of("/run/layerfs"));
        try (Stream<Path> users = Files.list(Path.of("/run/user"))) {
            users.forEach(u -> runDirs.add(u.resolve("layerfs")));
        } catch (IOException e) {
            // no per-user runtime directories here
        }
        for (Path dir : runDirs) {
            try (Stream<Path> records = Files.list(dir.resolve("mounts"))) {
                for (Path r : records.toList()) {
                    readQuietly(r, out);
                }
            } catch (IOException e) {
                // no daemon uses this run directory, or not one this user may read
            }
        }
        return out;
    }

    /** File names as this JVM decodes them (ISO-8859-1 in the image commands' locale: a char per byte). */
    private static final Charset NAMES = Charset.forName(System.getProperty("sun.jnu.encoding", "UTF-8"));

    private static void readQuietly(Path file, List<String> out) {
        try {
            out.add(new String(Files.readAllBytes(file), NAMES).replace('\0', ' '));
        } catch (IOException e) {
            // gone meanwhile (the process ended, the mount was unmounted)
        }
    }

    static String unescape(String s) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '\\' && i + 3 < s.length() && s.substring(i + 1, i + 4).matches("[0-7]{3}")) {
                sb.append((char) Integer.parseInt(s.substring(i + 1, i + 4), 8));
                i += 3;
            } else {
                sb.append(c);
            }
        }
        return sb.toString();
    }
}
