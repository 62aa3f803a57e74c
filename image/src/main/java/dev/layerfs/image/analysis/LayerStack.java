package dev.layerfs.image.analysis;

import dev.layerfs.image.commit.UpperLayer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * An image's layers replayed base first, keeping the merged view as it stands after each layer: for every path
 * of the view, its size (regular files) and the layers that wrote it, the last one first. A whiteout removes a
 * path and everything below it; an opaque directory removes what the layers below had inside it. Listeners see
 * every object of every layer with what it replaced, which is what blame and waste are made of.
 */
public final class LayerStack {
    /** A path of the merged view: its current size and the layers that wrote it (base first; last = visible). */
    public record Node(long size, List<Integer> writers) {}

    /** One object of one layer, as the walk meets it. */
    public interface Listener {
        /**
         * @param layer     the layer's index, 0 = base
         * @param rel       the path, no leading slash
         * @param whiteout  the object deletes {@code rel}
         * @param leaf      the object has no children in this layer (a file, a whiteout, an empty directory)
         * @param size      a regular file's size, else 0
         * @param replaced  the merged view's nodes at and below {@code rel} that this object hides (whiteouts,
         *                  opaque directories, and a non-directory replacing a directory), before it is applied
         */
        void object(int layer, String rel, boolean whiteout, boolean leaf, long size, SortedMap<String, Node> replaced);
    }

    private final TreeMap<String, Node> merged = new TreeMap<>();

    public TreeMap<String, Node> merged() {
        return merged;
    }

    /** Replays the layers (roots, base first), telling the listener about each object. */
    public void replay(List<Path> rootsBaseFirst, Listener listener) throws IOException {
        for (int i = 0; i < rootsBaseFirst.size(); i++) {
            for (UpperLayer.Entry e : UpperLayer.entries(rootsBaseFirst.get(i))) {
                apply(i, e, listener);
            }
        }
    }

    private void apply(int layer, UpperLayer.Entry e, Listener listener) throws IOException {
        String rel = e.rel();
        boolean dir = e.kind() == UpperLayer.Kind.DIR || e.kind() == UpperLayer.Kind.OPAQUE_DIR;
        boolean whiteout = e.kind() == UpperLayer.Kind.WHITEOUT;
        boolean hidesBelow = whiteout || e.kind() == UpperLayer.Kind.OPAQUE_DIR || !dir;
        SortedMap<String, Node> below = merged.subMap(rel + "/", rel + "0");
        SortedMap<String, Node> replaced = new TreeMap<>();
        if (hidesBelow) {
            replaced.putAll(below);
        }
        Node old = merged.get(rel);
        if (old != null && (whiteout || !dir)) {
            replaced.put(rel, old);
        }
        long size = !dir && !whiteout && Files.isRegularFile(e.path(), LinkOption.NOFOLLOW_LINKS)
                ? Files.size(e.path()) : 0;
        boolean leaf = !dir || isEmpty(e.path());
        listener.object(layer, rel, whiteout, leaf, size, replaced);
        if (hidesBelow) {
            below.clear();
        }
        if (whiteout) {
            merged.remove(rel);
            return;
        }
        List<Integer> writers = new ArrayList<>(old == null ? List.of() : old.writers());
        writers.add(layer);
        merged.put(rel, new Node(size, writers));
    }

    private static boolean isEmpty(Path dir) throws IOException {
        try (var s = Files.list(dir)) {
            return s.findAny().isEmpty();
        }
    }
}
