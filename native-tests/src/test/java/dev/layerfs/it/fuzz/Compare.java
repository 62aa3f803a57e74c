package dev.layerfs.it.fuzz;

import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.TreeSet;

/** Compares the kernel's side with layerfs's: operation outcomes and trees. Relaxes only by {@link Allowed}. */
final class Compare {
    private Compare() {}

    /** One difference: its kind ("op/rename", "merged/nlink", "upper/missing" ...) and what exactly differs. */
    record Divergence(String kind, String detail, String signature, java.util.Set<String> fields,
            Map<String, String> kernelNode) {
        Divergence(String kind, String detail) {
            this(kind, detail, kind, java.util.Set.of(), null);
        }

        Divergence(String kind, String detail, String signature) {
            this(kind, detail, signature, java.util.Set.of(), null);
        }

        @Override
        public String toString() {
            return kind + ": " + detail;
        }
    }

    /** What one sequence's comparison found: divergences, and the allowed differences it used. */
    static final class Findings {
        final List<Divergence> divergences = new ArrayList<>();
        final Map<Allowed, Integer> allowed = new EnumMap<>(Allowed.class);

        void allow(Allowed a, int n) {
            if (n > 0) {
                allowed.merge(a, n, Integer::sum);
            }
        }

        void add(String kind, String detail) {
            divergences.add(new Divergence(kind, detail));
        }

        boolean any() {
            return !divergences.isEmpty();
        }
    }

    static void outcome(int index, Op op, String kernel, String layerfs, Findings f) {
        if (kernel.equals(layerfs)) {
            return;
        }
        Allowed a = Allowed.excuse(op, kernel, layerfs);
        if (a != null) {
            f.allow(a, 1);
            return;
        }
        // The signature the shrinker keeps: the operation and the first word of each outcome ("ok", an errno).
        f.divergences.add(new Divergence("op/" + op.name(), "op " + (index + 1) + " `" + op.text() + "`: kernel "
                + kernel + ", layerfs " + layerfs, "op/" + op.name() + " kernel " + kernel.split(" ")[0]
                + " layerfs " + layerfs.split(" ")[0]));
    }

    /**
     * Compares two trees. {@code kernelGhosts}: the first tree is the kernel's and the second layerfs's, so the
     * kernel's ghosts are dropped ({@link Allowed#WHITEOUT_LISTED_IN_NON_MERGED_DIR}).
     */
    static void trees(String phase, SortedMap<String, Map<String, String>> kernel,
            SortedMap<String, Map<String, String>> layerfs, boolean kernelGhosts, Findings f) {
        SortedMap<String, Map<String, String>> k = kernel;
        if (kernelGhosts) {
            k = new TreeMap<>(kernel);
            f.allow(Allowed.WHITEOUT_LISTED_IN_NON_MERGED_DIR, Allowed.stripGhosts(k));
        }
        TreeSet<String> paths = new TreeSet<>(k.keySet());
        paths.addAll(layerfs.keySet());
        for (String p : paths) {
            Map<String, String> a = k.get(p);
            Map<String, String> b = layerfs.get(p);
            if (b == null) {
                f.add(phase + "/missing", p + ": " + a + " only on the kernel's side");
            } else if (a == null) {
                f.add(phase + "/extra", p + ": " + b + " only on layerfs's side");
            } else if (!a.equals(b)) {
                List<String> fields = new ArrayList<>();
                TreeSet<String> names = new TreeSet<>(a.keySet());
                names.addAll(b.keySet());
                StringBuilder d = new StringBuilder(p).append(':');
                // the first field in the node's own order decides the kind
                String first = null;
                for (String n : a.keySet()) {
                    if (!java.util.Objects.equals(a.get(n), b.get(n))) {
                        first = n;
                        break;
                    }
                }
                for (String n : names) {
                    if (!java.util.Objects.equals(a.get(n), b.get(n))) {
                        fields.add(n);
                        d.append(' ').append(n).append(": kernel ").append(a.get(n)).append(", layerfs ")
                                .append(b.get(n)).append(';');
                    }
                }
                String kind = phase + "/" + (first == null ? fields.get(0) : first);
                f.divergences.add(new Divergence(kind, d.toString(), kind, java.util.Set.copyOf(fields), a));
            }
        }
    }
}
