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
        Seq seq = Seq.parse(text);
        Batch.Config cfg = new Batch.Config(Path.of(System.getProperty("fuzz.tmp", "/tmp")),
                System.getProperty("fuzz.kernelOptions", ""), System.getProperty("fuzz.layerfsOptions", ""),
                java.util.EnumSet.noneOf(Allowed.class));
        Batch.SeqResult r = IoThread.run(new Batch(cfg), List.of(seq)).get(0);
        if (r.findings().any()) {
            StringBuilder b = new StringBuilder("the kernel overlay and layerfs diverge:\n");
            for (Divergence d : r.findings().divergences) {
                b.append("  ").append(d).append('\n');
            }
            b.append("outcomes:\n  ").append(String.join("\n  ", r.log()));
            throw new AssertionError(b.toString());
        }
    }
}
