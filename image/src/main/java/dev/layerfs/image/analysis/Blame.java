package dev.layerfs.image.analysis;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * For paths of an image: the layer that last wrote each (or deleted it) and the earlier layers whose version it
 * shadows. A path left out of the question list means every path of the final image.
 */
public final class Blame {
    /** {@code writer}: the layer that wrote or deleted the path; {@code shadowed}: earlier writers, newest first. */
    public record Line(String path, int writer, boolean deleted, List<Integer> shadowed) {}

    private Blame() {}

    public static List<Line> of(List<Path> rootsBaseFirst, List<String> paths) throws IOException {
        LayerStack stack = new LayerStack();
        Map<String, Line> deletions = new TreeMap<>();
        stack.replay(rootsBaseFirst, (layer, rel, whiteout, leaf, size, replaced) -> {
            LayerStack.Node old = replaced.get(rel);
            if (whiteout && old != null) {
                List<Integer> shadowed = new ArrayList<>(old.writers());
                java.util.Collections.reverse(shadowed);
                deletions.put(rel, new Line("/" + rel, layer, true, shadowed));
            } else if (!whiteout) {
                deletions.remove(rel);
            }
        });
        List<String> wanted = new ArrayList<>();
        if (paths.isEmpty()) {
            wanted.addAll(stack.merged().keySet());
        } else {
            for (String p : paths) {
                wanted.add(p.replaceAll("^/+", "").replaceAll("/+$", ""));
            }
        }
        List<Line> out = new ArrayList<>();
        for (String rel : wanted) {
            LayerStack.Node n = stack.merged().get(rel);
            if (n != null) {
                List<Integer> w = n.writers();
                List<Integer> shadowed = new ArrayList<>(w.subList(0, w.size() - 1));
                java.util.Collections.reverse(shadowed);
                out.add(new Line("/" + rel, w.get(w.size() - 1), false, shadowed));
            } else if (deletions.containsKey(rel)) {
                out.add(deletions.get(rel));
            } else {
                out.add(new Line("/" + rel, -1, false, List.of()));
            }
        }
        return out;
    }
}
