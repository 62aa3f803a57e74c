package dev.layerfs.it.fuzz;

import dev.layerfs.it.Transports;
import dev.layerfs.it.fuzz.Compare.Divergence;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * A fuzz campaign: N sequences from a campaign seed, run in batches (one kernel mount and one layerfs mount per
 * batch, one directory per sequence), each divergence kind shrunk once to a minimal sequence printed as a
 * ready-to-paste regression test, and a summary. Sequence i's seed is a fixed function of (campaign seed, i), and
 * a sequence is a function of its seed and the profile: {@code -Dfuzz.replay=SEED} replays one.
 *
 * <p>System properties: {@code fuzz.seqs}, {@code fuzz.seed}, {@code fuzz.batch} (sequences per mount pair),
 * {@code fuzz.profile} (bounded, long, full), {@code fuzz.kernelOptions} (extra kernel overlay mount options, e.g.
 * {@code redirect_dir=off,xino=off}), {@code fuzz.layerfsOptions} (extra layerfs options, e.g. {@code timeout=0}),
 * {@code fuzz.shrink} (true), {@code fuzz.shrinkSeconds} (per divergence kind), {@code fuzz.tmp} (where the
 * layers go, default /tmp: an ext4 or other file system with trusted xattrs and mknod), {@code fuzz.replay}.
 */
final class Campaign {
    record Settings(long seed, int seqs, int perBatch, Profile profile, Batch.Config config, boolean shrink,
            long shrinkSeconds, Long replay) {

        static Settings fromProperties(int defaultSeqs, long defaultSeed) {
            String replay = System.getProperty("fuzz.replay", "");
            Profile profile = Profile.of(System.getProperty("fuzz.profile", "bounded"));
            return new Settings(Long.decode(System.getProperty("fuzz.seed", Long.toString(defaultSeed))),
                    Integer.getInteger("fuzz.seqs", defaultSeqs), Integer.getInteger("fuzz.batch", 100), profile,
                    new Batch.Config(Path.of(System.getProperty("fuzz.tmp", "/tmp")),
                            System.getProperty("fuzz.kernelOptions", ""),
                            System.getProperty("fuzz.layerfsOptions", profile.layerfsOptions()),
                            profile.exclusions()),
                    Boolean.parseBoolean(System.getProperty("fuzz.shrink", "true")),
                    Long.getLong("fuzz.shrinkSeconds", 600),
                    replay.isBlank() ? null : Long.decode(replay));
        }
    }

    /** What a campaign found. */
    static final class Summary {
        int seqs;
        long ops;
        int divergentSeqs;
        long millis;
        int batches;
        final Map<String, Integer> byKind = new TreeMap<>();
        final Map<String, String> firstByKind = new LinkedHashMap<>();
        final Map<Allowed, Integer> allowed = new EnumMap<>(Allowed.class);
        final Map<String, String> tests = new LinkedHashMap<>();
        final List<String> divergentSeeds = new ArrayList<>();
        final Map<String, Long> phases = new LinkedHashMap<>();
        final Map<String, Integer> outcomes = new TreeMap<>();

        String report(Settings s) {
            StringBuilder b = new StringBuilder();
            double min = millis / 60000.0;
            b.append(String.format("layerfs differential fuzz: transport %s, seed %d, profile %s, kernel options"
                    + " '%s', layerfs options '%s'%n", Transports.current(), s.seed, s.profile.name(),
                    s.config.kernelOptions(),
                    s.config.layerfsOptions()));
            b.append(String.format("  %d sequences, %d operations, %d batches (mount pairs), %.1f s: %.0f"
                    + " sequences/minute, %.0f operations/s%n", seqs, ops, batches, millis / 1000.0,
                    min > 0 ? seqs / min : 0, millis > 0 ? ops * 1000.0 / millis : 0));
            b.append("  kernel outcomes:");
            outcomes.forEach((k, n) -> b.append(' ').append(k).append(' ').append(n).append(';'));
            b.append('\n');
            b.append(String.format("  divergent sequences: %d%n", divergentSeqs));
            if (Boolean.getBoolean("fuzz.verbose")) {
                b.append("  time by phase (s, summed over the batches):");
                phases.forEach((k, v) -> b.append(String.format(" %s %.1f;", k, v / 1000.0)));
                b.append('\n');
            }
            if (!byKind.isEmpty()) {
                b.append("  divergences by kind:\n");
                byKind.forEach((k, n) -> b.append(String.format("    %-28s %5d   first: %s%n", k, n,
                        firstByKind.get(k))));
            }
            if (!allowed.isEmpty()) {
                b.append("  allowed differences used (Allowed.java):\n");
                allowed.forEach((a, n) -> b.append(String.format("    %-36s %5d%n", a, n)));
            }
            if (!divergentSeeds.isEmpty()) {
                b.append("  replay one: -Dfuzz.replay=SEED -Dfuzz.profile=").append(s.profile.name())
                        .append(" with SEED one of ").append(divergentSeeds.subList(0,
                                Math.min(20, divergentSeeds.size()))).append('\n');
            }
            tests.forEach((k, t) -> b.append("\n  ---- shrunk reproduction of ").append(k)
                    .append(", ready to paste into DifferentialFuzzRegressionTest ----\n").append(t));
            return b.toString();
        }
    }

    private final Settings s;
    private final PrintStream out;

    Campaign(Settings s, PrintStream out) {
        this.s = s;
        this.out = out;
    }

    /** SplitMix64 of (seed, index): the seed of sequence index. */
    static long seqSeed(long seed, long index) {
        long z = seed * 0x9E3779B97F4A7C15L + (index + 1) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return (z ^ (z >>> 31)) & Long.MAX_VALUE;
    }

    Summary run() {
        Summary sum = new Summary();
        long start = System.currentTimeMillis();
        Shrinker shrinker = new Shrinker(s.config, out);
        out.println("fuzz: transport " + Transports.current() + ", profile " + s.profile.name() + ", entries of"
                + " Allowed applied: " + s.profile.exclusions());
        if (s.replay != null) {
            Seq seq = Gen.sequence(s.replay, s.profile);
            out.println("fuzz: replaying sequence seed " + s.replay + " (profile " + s.profile.name() + "):\n"
                    + seq.text());
            Batch.SeqResult r = IoThread.run(new Batch(s.config), List.of(seq)).get(0);
            out.println("fuzz: outcomes:\n  " + String.join("\n  ", r.log()));
            account(sum, r, shrinker);
            sum.batches = 1;
            sum.millis = System.currentTimeMillis() - start;
            return sum;
        }
        // Up to fuzz.threads batches run at once; their results are taken in order, so the report is the same.
        java.util.ArrayDeque<Object[]> pending = new java.util.ArrayDeque<>();
        for (int from = 0; from < s.seqs || !pending.isEmpty(); from += s.perBatch) {
            if (from < s.seqs) {
                List<Seq> batch = new ArrayList<>();
                for (int i = from; i < Math.min(s.seqs, from + s.perBatch); i++) {
                    batch.add(Gen.sequence(seqSeed(s.seed, i), s.profile));
                }
                Batch b = new Batch(s.config);
                pending.add(new Object[] {b, IoThread.submit(b, batch)});
            }
            if (pending.size() >= IoThread.THREADS || from + s.perBatch >= s.seqs) {
                Object[] p = pending.removeFirst();
                Batch b = (Batch) p[0];
                @SuppressWarnings("unchecked")
                java.util.concurrent.Future<List<Batch.SeqResult>> f =
                        (java.util.concurrent.Future<List<Batch.SeqResult>>) p[1];
                List<Batch.SeqResult> results;
                try {
                    results = IoThread.await(b, f);
                } catch (RuntimeException e) {
                    // A batch that could not run (a mount refused, the machine out of space): say so and go on.
                    out.println("fuzz: a batch failed: " + e);
                    sum.byKind.merge("error/batch", 1, Integer::sum);
                    sum.firstByKind.putIfAbsent("error/batch", e.toString());
                    sum.divergentSeqs++;
                    continue;
                }
                sum.batches++;
                b.phaseMillis.forEach((k, v) -> sum.phases.merge(k, v, Long::sum));
                for (Batch.SeqResult r : results) {
                    account(sum, r, shrinker);
                }
                long t = System.currentTimeMillis() - start - shrinkMillis;
                out.printf("fuzz: %d/%d sequences, %d operations, %d divergent, %.0f s%n", sum.seqs, s.seqs,
                        sum.ops, sum.divergentSeqs, t / 1000.0);
            }
        }
        sum.millis = System.currentTimeMillis() - start - shrinkMillis;
        return sum;
    }

    private long shrinkMillis;

    /** At most this many divergences are shrunk in one campaign (each takes a minute or so). */
    private static final int MAX_SHRINKS = Integer.getInteger("fuzz.maxShrinks", 20);

    private void account(Summary sum, Batch.SeqResult r, Shrinker shrinker) {
        if (!r.ran()) {
            return;
        }
        sum.seqs++;
        sum.ops += r.opsRun();
        for (String o : r.kernelOutcomes()) {
            String word = o.split(" ")[0];
            sum.outcomes.merge(word.startsWith("E") || word.equals("ok") || word.equals(Exec.SKIPPED) ? word
                    : "ok", 1, Integer::sum);
        }
        r.findings().allowed.forEach((a, n) -> sum.allowed.merge(a, n, Integer::sum));
        if (!r.findings().any()) {
            return;
        }
        sum.divergentSeqs++;
        sum.divergentSeeds.add(Long.toString(r.seq().seed()));
        out.println("fuzz: sequence seed " + r.seq().seed() + " diverges:");
        for (Divergence d : r.findings().divergences) {
            out.println("  " + d);
        }
        out.println("  outcomes:\n    " + String.join("\n    ", r.log()));
        for (Divergence d : r.findings().divergences) {
            sum.byKind.merge(d.kind(), 1, Integer::sum);
            sum.firstByKind.putIfAbsent(d.kind(), "seed " + r.seq().seed());
        }
        Divergence first = r.findings().divergences.get(0);
        String sig = first.signature();
        if (s.shrink && !sum.tests.containsKey(sig) && sum.tests.size() < MAX_SHRINKS) {
            long t0 = System.currentTimeMillis();
            out.println("fuzz: shrinking seed " + r.seq().seed() + " for " + sig);
            Seq small = shrinker.shrink(r.seq(), sig, s.shrinkSeconds * 1000);
            if (small == null) {
                sum.tests.put(sig, "    // does not repeat alone (flaky, or depends on another sequence):"
                        + " seed " + r.seq().seed() + "\n");
            } else {
                Batch.SeqResult again = IoThread.run(new Batch(s.config), List.of(small)).get(0);
                String what = again.findings().divergences.stream().filter(d -> d.signature().equals(sig))
                        .map(Divergence::toString).findFirst().orElse(first.toString());
                String test = Shrinker.regressionTest(small, first.kind(), r.seq().seed(), s.profile.name(), what);
                sum.tests.put(sig, test + "    // outcomes:\n    //   "
                        + String.join("\n    //   ", again.log()) + "\n    // divergences:\n    //   "
                        + String.join("\n    //   ", again.findings().divergences.stream().map(Divergence::toString)
                                .toList()) + "\n");
                out.println("fuzz: shrunk " + sig + ":\n" + sum.tests.get(sig));
            }
            shrinkMillis += System.currentTimeMillis() - t0;
        }
    }
}
