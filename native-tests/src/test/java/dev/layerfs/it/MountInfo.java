package dev.layerfs.it;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;

/** The mounts of this process's namespace, from /proc/self/mountinfo. */
public final class MountInfo {
    private MountInfo() {}

    /** One line of mountinfo: where, what type, what source. */
    public record Entry(Path mountPoint, String fsType, String source, String mountOptions, String superOptions) {
        public boolean isFuse() {
            return fsType.equals("fuse") || fsType.startsWith("fuse.");
        }
    }

    public static List<Entry> read() {
        List<String> lines;
        try {
            lines = Files.readAllLines(Path.of("/proc/self/mountinfo"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        List<Entry> entries = new ArrayList<>();
        for (String line : lines) {
            // id parent major:minor root mountpoint options [optional fields...] - fstype source superoptions
            String[] f = line.split(" ");
            int dash = -1;
            for (int i = 6; i < f.length; i++) {
                if (f[i].equals("-")) {
                    dash = i;
                    break;
                }
            }
            if (dash < 0 || dash + 2 >= f.length) {
                continue;
            }
            entries.add(new Entry(Path.of(unescape(f[4])), unescape(f[dash + 1]), unescape(f[dash + 2]),
                    f[5], dash + 3 < f.length ? unescape(f[dash + 3]) : ""));
        }
        return entries;
    }

    /** The topmost mount exactly at a path, if any. */
    public static Optional<Entry> at(Path mountPoint) {
        Path p = mountPoint.toAbsolutePath().normalize();
        List<Entry> all = read();
        for (int i = all.size() - 1; i >= 0; i--) {
            if (all.get(i).mountPoint.equals(p)) {
                return Optional.of(all.get(i));
            }
        }
        return Optional.empty();
    }

    public static boolean isMounted(Path mountPoint) {
        return at(mountPoint).isPresent();
    }

    /** Every mount at or below a directory, the deepest first (the order to unmount them in). */
    public static List<Entry> under(Path root) {
        Path r = root.toAbsolutePath().normalize();
        List<Entry> out = new ArrayList<>();
        for (Entry e : read()) {
            if (e.mountPoint.startsWith(r)) {
                out.add(e);
            }
        }
        out.sort(Comparator.comparingInt((Entry e) -> e.mountPoint.getNameCount()).reversed());
        return out;
    }

    /** mountinfo escapes space, tab, newline and backslash as three octal digits. */
    static String unescape(String s) {
        if (s.indexOf('\\') < 0) {
            return s;
        }
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '\\' && i + 4 <= s.length() && s.substring(i + 1, i + 4).matches("[0-7]{3}")) {
                b.append((char) Integer.parseInt(s.substring(i + 1, i + 4), 8));
                i += 3;
            } else {
                b.append(c);
            }
        }
        return b.toString();
    }
}
