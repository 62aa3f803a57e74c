package dev.layerfs.image.analysis;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Space an image spends on files that a later layer overwrote or deleted, computed as dive computes its
 * "efficiency": for each path that is a leaf in some layer (a file, a whiteout, an empty directory), the sizes it
 * has in each layer that has it (a whiteout of a directory counts the size of what it deleted, of a file 0).
 * A path found in two or more layers wastes its cumulative size; the efficiency is the sum over all paths of the
 * smallest size over the sum of all sizes.
 */
public final class Waste {
    /** A path found in more than one layer. */
    public record Entry(String path, int count, long totalBytes, List<Integer> layers) {}

    /** The inefficient paths, biggest first; the wasted bytes (their total); the efficiency (0 to 1). */
    public record Report(List<Entry> entries, long wastedBytes, double efficiency) {}

    private static final class Path_ {
        long cumulative;
        long min = -1;
        final List<Integer> layers = new ArrayList<>();
    }

    private Waste() {}

    public static Report of(List<Path> rootsBaseFirst) throws IOException {
        Map<String, Path_> paths = new HashMap<>();
        new LayerStack().replay(rootsBaseFirst, (layer, rel, whiteout, leaf, size, replaced) -> {
            if (!leaf) {
                return;
            }
            long bytes = size;
            if (whiteout) {
                bytes = replaced.entrySet().stream().filter(e -> !e.getKey().equals(rel))
                        .mapToLong(e -> e.getValue().size()).sum();
            }
            Path_ p = paths.computeIfAbsent(rel, k -> new Path_());
            p.cumulative += bytes;
            p.min = p.min < 0 ? bytes : Math.min(p.min, bytes);
            p.layers.add(layer);
        });
        long minimum = 0;
        long discovered = 0;
        long wasted = 0;
        List<Entry> entries = new ArrayList<>();
        for (Map.Entry<String, Path_> e : paths.entrySet()) {
            Path_ p = e.getValue();
            minimum += p.min;
            discovered += p.cumulative;
            if (p.layers.size() >= 2) {
                entries.add(new Entry("/" + e.getKey(), p.layers.size(), p.cumulative, List.copyOf(p.layers)));
                wasted += p.cumulative;
            }
        }
        entries.sort((a, b) -> a.totalBytes() != b.totalBytes() ? Long.compare(b.totalBytes(), a.totalBytes())
                : a.path().compareTo(b.path()));
        double efficiency = discovered == 0 ? 1.0 : (double) minimum / discovered;
        return new Report(entries, wasted, efficiency);
    }
}
