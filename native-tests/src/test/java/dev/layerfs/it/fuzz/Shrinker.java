package dev.layerfs.it.fuzz;

import dev.layerfs.it.fuzz.Compare.Findings;
import dev.layerfs.it.fuzz.Stack.Entry;
import dev.layerfs.it.fuzz.Stack.Kind;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

/**
 * Shrinks a diverging sequence to a minimal one that still shows a divergence of the same kind: greedy rounds,
 * each trying a class of smaller candidates (fewer operations, fewer entries or layers, simpler values) and
 * keeping the lightest that still diverges. All candidates of a round run in ONE batch (one pair of mounts), each
 * in its own directory, so a round costs about as much as one sequence.
 */
final class Shrinker {
    private static final int MAX_PER_BATCH = 48;

    private final Batch.Config cfg;
    private final PrintStream log;
    int batches;

    Shrinker(Batch.Config cfg, PrintStream log) {
        this.cfg = cfg;
        this.log = log;
    }

    /** The findings of each candidate, in order. */
    List<Findings> evaluate(List<Seq> candidates) {
        List<Findings> out = new ArrayList<>();
        for (int from = 0; from < candidates.size(); from += MAX_PER_BATCH) {
            List<Seq> chunk = candidates.subList(from, Math.min(candidates.size(), from + MAX_PER_BATCH));
            batches++;
            for (Batch.SeqResult r : IoThread.run(new Batch(cfg), chunk)) {
                out.add(r.ran() ? r.findings() : null);
            }
        }
        return out;
    }

    static boolean shows(Findings f, String signature) {
        return f != null && f.divergences.stream().anyMatch(d -> d.signature().equals(signature));
    }

    /** The smallest sequence found that still shows a divergence of this signature; null where it does not repeat. */
    Seq shrink(Seq original, String kind, long budgetMillis) {
        long deadline = System.currentTimeMillis() + budgetMillis;
        if (!shows(evaluate(List.of(original)).get(0), kind)) {
            log.println("fuzz: shrink: " + kind + " does not repeat when the sequence runs alone");
            return null;
        }
        Seq best = original;
        List<Function<Seq, List<Seq>>> classes = List.of(Shrinker::opChunks, Shrinker::stackRemovals,
                Shrinker::simplifications);
        int c = 0;
        while (c < classes.size() && System.currentTimeMillis() < deadline) {
            List<Seq> cands = classes.get(c).apply(best);
            Seq found = null;
            for (int from = 0; from < cands.size() && found == null; from += MAX_PER_BATCH) {
                List<Seq> chunk = cands.subList(from, Math.min(cands.size(), from + MAX_PER_BATCH));
                List<Findings> fs = evaluate(chunk);
                for (int i = 0; i < chunk.size(); i++) {
                    if (shows(fs.get(i), kind) && chunk.get(i).weight() < best.weight()
                            && (found == null || chunk.get(i).weight() < found.weight())) {
                        found = chunk.get(i);
                    }
                }
            }
            if (found != null) {
                best = found;
                log.println("fuzz: shrink: " + best.ops().size() + " ops, " + best.stack().entries().size()
                        + " entries, weight " + best.weight());
                c = 0;
            } else {
                c++;
            }
        }
        return best;
    }

    private static List<Seq> opChunks(Seq s) {
        List<Seq> out = new ArrayList<>();
        int n = s.ops().size();
        for (int size = Math.max(1, n / 2); ; size = Math.max(1, size / 2)) {
            for (int i = 0; i < n; i += size) {
                List<Op> ops = new ArrayList<>(s.ops().subList(0, i));
                ops.addAll(s.ops().subList(Math.min(n, i + size), n));
                out.add(s.withOps(ops));
            }
            if (size == 1) {
                break;
            }
        }
        return out;
    }

    private static List<Seq> stackRemovals(Seq s) {
        List<Seq> out = new ArrayList<>();
        Stack st = s.stack();
        for (int l = st.lowers(); l >= 1 && st.lowers() > 1; l--) {
            Stack w = st.withoutLayer(l);
            if (rootSurvives(w)) {
                out.add(s.withStack(w));
            }
        }
        for (Entry e : st.entries()) {
            Stack w = st.without(e.layer(), e.path());
            if (rootSurvives(w)) {
                out.add(s.withStack(w));
            }
        }
        return out;
    }

    /** The sequence's directory must still exist in some lower layer (as the generator guarantees). */
    private static boolean rootSurvives(Stack s) {
        return s.entries().stream().anyMatch(e -> e.layer() > 0 && e.path().equals(".") && e.kind() == Kind.DIR);
    }

    private static List<Seq> simplifications(Seq s) {
        List<Seq> out = new ArrayList<>();
        Stack st = s.stack();
        if (!st.aufs().isEmpty()) {
            out.add(s.withStack(new Stack(st.lowers(), st.entries())));   // no AUFS layer on layerfs's side
        }
        for (int i = 0; i < st.entries().size(); i++) {
            Entry e = st.entries().get(i);
            if (e.kind() == Kind.FILE && (e.size() > 3 || e.sparse())) {
                out.add(s.withStack(st.replace(i, e.withSize(Math.min(e.size(), 3), false))));
                if (e.size() > 4096) {
                    out.add(s.withStack(st.replace(i, e.withSize(4096, false))));
                }
            }
            if (!e.xattrs().isEmpty()) {
                out.add(s.withStack(st.replace(i, e.withoutXattrs())));
            }
            if (e.opaque()) {
                out.add(s.withStack(st.replace(i, e.withOpaque(false))));
            }
            if (e.kind() != Kind.WH && e.kind() != Kind.HARD
                    && (e.mode() != Stack.defaultMode(e.kind()) || e.uid() != 0 || e.gid() != 0)) {
                out.add(s.withStack(st.replace(i, e.withMode(Stack.defaultMode(e.kind()), 0, 0))));
            }
        }
        for (int i = 0; i < s.ops().size(); i++) {
            Op op = s.ops().get(i);
            List<Op> alternatives = new ArrayList<>();
            if (op.uid() != 0) {
                alternatives.add(new Op(0, op.name(), op.args()));
            }
            if (op.name().equals("write") || op.name().equals("read")) {
                int len = Integer.parseInt(op.arg(2));
                if (len > 3) {
                    List<String> a = new ArrayList<>(op.args());
                    a.set(2, "3");
                    alternatives.add(new Op(op.uid(), op.name(), a));
                }
                if (!op.arg(1).equals("0")) {
                    List<String> a = new ArrayList<>(op.args());
                    a.set(1, "0");
                    alternatives.add(new Op(op.uid(), op.name(), a));
                }
            }
            int modeArg = switch (op.name()) {
                case "open" -> 3;
                case "mkdir", "mkfifo" -> 1;
                default -> -1;
            };
            if (modeArg >= 0 && !op.arg(modeArg).equals(op.name().equals("mkdir") ? "0755" : "0644")) {
                List<String> a = new ArrayList<>(op.args());
                a.set(modeArg, op.name().equals("mkdir") ? "0755" : "0644");
                alternatives.add(new Op(op.uid(), op.name(), a));
            }
            if (op.name().equals("write") && !op.arg(3).equals("1")) {
                List<String> a = new ArrayList<>(op.args());
                a.set(3, "1");
                alternatives.add(new Op(op.uid(), op.name(), a));
            }
            if (op.name().equals("open")) {
                String[] flags = op.arg(2).split("\\|");
                for (int f = 1; f < flags.length; f++) {
                    List<String> kept = new ArrayList<>();
                    for (int g = 0; g < flags.length; g++) {
                        if (g != f) {
                            kept.add(flags[g]);
                        }
                    }
                    List<String> a = new ArrayList<>(op.args());
                    a.set(2, String.join("|", kept));
                    alternatives.add(new Op(op.uid(), op.name(), a));
                }
            }
            for (Op alt : alternatives) {
                List<Op> ops = new ArrayList<>(s.ops());
                ops.set(i, alt);
                out.add(s.withOps(ops));
            }
        }
        return out;
    }

    /** The text of a ready-to-paste regression test for a shrunk sequence. */
    static String regressionTest(Seq s, String kind, long seed, String profile, String divergence) {
        String name = "fuzz_" + kind.replaceAll("[^A-Za-z0-9]+", "_") + "_" + Long.toHexString(seed);
        StringBuilder b = new StringBuilder();
        b.append("    /** Shrunk by the differential fuzzer from sequence seed ").append(seed).append(" (profile ")
                .append(profile).append("): ").append(escape(divergence)).append(" */\n");
        b.append("    @Test\n");
        b.append("    void ").append(name).append("() {\n");
        b.append("        Scenario.assertAgree(\"\"\"\n");
        for (String line : s.text().split("\n")) {
            b.append("                ").append(line).append('\n');
        }
        b.append("                \"\"\");\n");
        b.append("    }\n");
        return b.toString();
    }

    private static String escape(String s) {
        String t = s.replace("*/", "* /").replace("\n", " ");
        return t.length() > 300 ? t.substring(0, 300) + "..." : t;
    }
}
