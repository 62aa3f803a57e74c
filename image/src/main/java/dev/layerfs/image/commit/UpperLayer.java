package dev.layerfs.image.commit;

import dev.layerfs.image.extract.Posix;
import dev.layerfs.image.names.ByteNames;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * A writable layer as the overlay left it, read in every whiteout dialect layerfs writes or reads: a character
 * device 0/0 or a {@code .wh.NAME} file is a deletion; a directory with {@code trusted.overlay.opaque},
 * {@code user.overlay.opaque} or {@code user.fuseoverlayfs.opaque} = y, or holding {@code .wh..wh..opq}, is opaque.
 * Entries come depth first, each directory's children in byte order of their names.
 */
public final class UpperLayer {
    /** One object of the layer; {@code rel} has no leading slash ("data/a"), as the file APIs gave it. */
    public record Entry(String rel, Path path, Kind kind) {}

    public enum Kind {
        WHITEOUT, OPAQUE_DIR, DIR, OTHER
    }

    private static final List<String> OPAQUE_XATTRS =
            List.of("trusted.overlay.opaque", "user.overlay.opaque", "user.fuseoverlayfs.opaque");

    private UpperLayer() {}

    public static List<Entry> entries(Path upper) throws IOException {
        List<Entry> out = new ArrayList<>();
        walk(upper, "", out);
        return out;
    }

    private static void walk(Path dir, String prefix, List<Entry> out) throws IOException {
        List<Path> children;
        try (Stream<Path> s = Files.list(dir)) {
            children = new ArrayList<>(s.toList());
        }
        children.sort((a, b) -> Arrays.compare(ByteNames.bytes(a.getFileName().toString()),
                ByteNames.bytes(b.getFileName().toString())));
        for (Path c : children) {
            String name = c.getFileName().toString();
            String rel = prefix + name;
            if (name.equals(".wh..wh..opq")) {
                continue;
            }
            if (name.startsWith(".wh.")) {
                if (!name.startsWith(".wh..wh.")) {
                    String hidden = prefix + name.substring(4);
                    out.add(new Entry(hidden, c, Kind.WHITEOUT));
                }
                continue;
            }
            if (isWhiteoutDevice(c)) {
                out.add(new Entry(rel, c, Kind.WHITEOUT));
            } else if (Files.isDirectory(c, LinkOption.NOFOLLOW_LINKS)) {
                out.add(new Entry(rel, c, isOpaque(c) ? Kind.OPAQUE_DIR : Kind.DIR));
                walk(c, rel + "/", out);
            } else {
                out.add(new Entry(rel, c, Kind.OTHER));
            }
        }
    }

    static boolean isWhiteoutDevice(Path p) throws IOException {
        Map<String, Object> a = Files.readAttributes(p, "unix:mode,rdev", LinkOption.NOFOLLOW_LINKS);
        int mode = (Integer) a.get("mode");
        return (mode & 0170000) == Posix.S_IFCHR && ((Long) a.get("rdev")) == 0L;
    }

    static boolean isOpaque(Path dir) throws IOException {
        if (Files.exists(dir.resolve(".wh..wh..opq"), LinkOption.NOFOLLOW_LINKS)) {
            return true;
        }
        for (String x : OPAQUE_XATTRS) {
            byte[] v = Posix.getXattr(dir, x);
            if (v != null && v.length == 1 && v[0] == 'y') {
                return true;
            }
        }
        return false;
    }
}
