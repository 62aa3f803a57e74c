package dev.layerfs.image.store;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/** What the kernel and the running processes say is in use: layerfs mount points, and daemons' command lines. */
public final class ProcMounts {
    private ProcMounts() {}

    /** The mount points of fuse.layerfs mounts, from /proc/self/mountinfo (octal escapes decoded). */
    public static List<Path> layerfsMountPoints() throws IOException {
        List<Path> out = new ArrayList<>();
        for (String line : Files.readAllLines(Path.of("/proc/self/mountinfo"))) {
            int dash = line.indexOf(" - ");
            if (dash < 0) {
                continue;
            }
            String[] after = line.substring(dash + 3).split(" ");
            String[] before = line.substring(0, dash).split(" ");
            if (after.length > 0 && after[0].equals("fuse.layerfs") && before.length > 4) {
                out.add(Path.of(unescape(before[4])));
            }
        }
        return out;
    }

    /**
     * The command lines of every process, NULs as spaces: a layerfs daemon's holds its lowerdir and upperdir
     * options, which is how {@code image rm} and {@code prune} see that a layer is mounted, by {@code image mount}
     * or by hand.
     */
    public static List<String> commandLines() throws IOException {
        List<String> out = new ArrayList<>();
        try (Stream<Path> procs = Files.list(Path.of("/proc"))) {
            for (Path p : procs.toList()) {
                if (!p.getFileName().toString().matches("[0-9]+")) {
                    continue;
                }
                try {
                    byte[] b = Files.readAllBytes(p.resolve("cmdline"));
                    out.add(new String(b, StandardCharsets.UTF_8).replace('\0', ' '));
                } catch (IOException e) {
                    // the process ended meanwhile
                }
            }
        }
        return out;
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
