package dev.layerfs.it.fuzz;

import dev.layerfs.it.fuzz.Compare.Divergence;
import java.nio.file.Path;
import java.util.List;

/**
 * A regression test's one call: a sequence in the text form of {@link Seq} (stack, {@code --}, operations) runs
 * on the kernel overlay and on layerfs exactly as in a campaign (same comparisons, same {@link Allowed} list) and
 * must show no divergence. Kernel and layerfs mount options come from {@code fuzz.kernelOptions} and
 * {@code fuzz.layerfsOptions}, as for a campaign.
 */
public final class Scenario {
    private Scenario() {}

    public static void assertAgree(String text) {
        assertAgree(text, System.getProperty("fuzz.layerfsOptions", ""));
    }

    /** As {@link #assertAgree(String)}, with these layerfs mount options. */
    public static void assertAgree(String text, String layerfsOptions) {
        assertAgreeBoth(text, System.getProperty("fuzz.kernelOptions", ""), layerfsOptions);
    }

    /** As {@link #assertAgree(String)}, with these kernel and layerfs mount options (a feature both have on). */
    public static void assertAgreeBoth(String text, String kernelOptions, String layerfsOptions) {
        Batch.SeqResult r = run(text, kernelOptions, layerfsOptions);
        if (r.findings().any()) {
            StringBuilder b = new StringBuilder("the kernel overlay and layerfs diverge:\n");
            for (Divergence d : r.findings().divergences) {
                b.append("  ").append(d).append('\n');
            }
            b.append("outcomes:\n  ").append(String.join("\n  ", r.log()));
            throw new AssertionError(b.toString());
        }
    }

    /**
     * For a documented difference (an entry of {@link Allowed}): the sequence diverges in exactly these ways, no
     * more and no fewer (each as {@code kind: detail}, in any order). When layerfs one day agrees with the kernel
     * here, this fails, and the entry of {@link Allowed} and the README's sentence can go. An entry whose
     * {@linkplain Allowed#applies() scope} leaves this run's transport out is held to agreement instead.
     */
    public static void assertDivergesExactly(String text, String layerfsOptions, String... expected) {
        divergesExactly(text, layerfsOptions, expected);
    }

    /**
     * As {@link #assertDivergesExactly}, for an entry that excuses divergences after the fact: each of them must be
     * one the entry excuses, so that a campaign accepts exactly these.
     */
    static void assertExcused(Allowed entry, String text, String layerfsOptions, String... expected) {
        assertExcused(java.util.Set.of(entry), text, layerfsOptions, expected);
    }

    /** As {@link #assertExcused(Allowed, String, String, String...)}, each divergence excused by one of these. */
    static void assertExcused(java.util.Set<Allowed> entries, String text, String layerfsOptions,
            String... expected) {
        assertExcusedBoth(entries, text, System.getProperty("fuzz.kernelOptions", ""), layerfsOptions, expected);
    }

    /** As {@link #assertExcused(java.util.Set, String, String, String...)}, with these kernel mount options too. */
    static void assertExcusedBoth(java.util.Set<Allowed> entries, String text, String kernelOptions,
            String layerfsOptions, String... expected) {
        // A difference of other transports only (Allowed.Scope): on this one the sequence agrees.
        if (entries.stream().noneMatch(Allowed::applies)) {
            assertAgreeBoth(text, kernelOptions, layerfsOptions);
            return;
        }
        Batch.SeqResult r = divergesExactly(run(text, kernelOptions, layerfsOptions), expected);
        for (Divergence d : r.findings().divergences) {
            if (entries.stream().noneMatch(a -> a.excuses(d, r.resolvedOps(), r.kernelOutcomes()))) {
                throw new AssertionError("none of " + entries + " excuses: " + d);
            }
        }
    }

    private static Batch.SeqResult divergesExactly(String text, String layerfsOptions, String... expected) {
        return divergesExactly(run(text, layerfsOptions), expected);
    }

    private static Batch.SeqResult divergesExactly(Batch.SeqResult r, String... expected) {
        List<String> got = r.findings().divergences.stream().map(Divergence::toString).sorted().toList();
        List<String> want = java.util.Arrays.stream(expected).sorted().toList();
        if (!got.equals(want)) {
            throw new AssertionError("expected exactly these divergences:\n  [" + String.join("]\n  [", want)
                    + "]\ngot:\n  [" + String.join("]\n  [", got) + "]\noutcomes:\n  "
                    + String.join("\n  ", r.log()));
        }
        return r;
    }

    private static Batch.SeqResult run(String text, String layerfsOptions) {
        return run(text, System.getProperty("fuzz.kernelOptions", ""), layerfsOptions);
    }

    private static Batch.SeqResult run(String text, String kernelOptions, String layerfsOptions) {
        Seq seq = Seq.parse(text);
        Batch.Config cfg = new Batch.Config(Path.of(System.getProperty("fuzz.tmp", "/tmp")),
                kernelOptions, layerfsOptions,
                java.util.EnumSet.noneOf(Allowed.class));
        return IoThread.run(new Batch(cfg), List.of(seq)).get(0);
    }
}
