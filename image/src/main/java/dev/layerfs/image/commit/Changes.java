package dev.layerfs.image.commit;

import dev.layerfs.image.names.ByteNames;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * What a writable layer changed, as {@code podman diff} prints it: {@code A /path} added, {@code C /path} changed
 * (a name the lower layers have, directories included), {@code D /path} deleted (a whiteout). The children of an
 * opaque directory that only the lower layers had are not listed one by one: the directory shows as C.
 */
public final class Changes {
    /** {@code path} as the file APIs gave it; {@link #toString} shows it to a person. */
    public record Change(char kind, String path) {
        @Override
        public String toString() {
            return kind + " " + ByteNames.display(path);
        }
    }

    private Changes() {}

    public static List<Change> of(Path upper, LowerView lower) throws IOException {
        List<Change> out = new ArrayList<>();
        for (UpperLayer.Entry e : UpperLayer.entries(upper)) {
            char kind;
            if (e.kind() == UpperLayer.Kind.WHITEOUT) {
                if (!lower.exists(e.rel())) {
                    continue;
                }
                kind = 'D';
            } else {
                kind = lower.exists(e.rel()) ? 'C' : 'A';
            }
            out.add(new Change(kind, "/" + e.rel()));
        }
        out.sort((a, b) -> a.path().compareTo(b.path()));
        return out;
    }
}
