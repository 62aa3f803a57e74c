package dev.layerfs.it.fuzz;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.layerfs.core.nativeio.Syscalls;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * Differential testing against the kernel overlayfs (issue 4): random layer stacks and operation sequences run on
 * the kernel overlay and on layerfs, compared operation by operation, tree by tree, upper layer by upper layer and
 * across (each one's upper layer mounted by the other). See {@link Campaign} for the system properties.
 *
 * <p>Plain {@code mvn verify} (so {@code make test}) runs the bounded campaign: {@link #BOUNDED_SEQS} sequences
 * from seed {@link #BOUNDED_SEED}, about two minutes on two cores. {@code make fuzz SEQS=N SEED=S} runs a long one.
 */
class DifferentialFuzzTest {
    static final int BOUNDED_SEQS = 1500;
    static final long BOUNDED_SEED = 20240401L;

    @Test
    void campaign() {
        assumeTrue(Syscalls.get().geteuid() == 0, "mounting needs root");
        Campaign.Settings s = Campaign.Settings.fromProperties(BOUNDED_SEQS, BOUNDED_SEED);
        Campaign.Summary sum = new Campaign(s, System.out).run();
        String report = sum.report(s);
        System.out.println(report);
        assertTrue(sum.seqs > 0, "no sequence ran");
        assertEquals(0, sum.divergentSeqs, report);
    }

    /** The text forms a shrunk test carries give back exactly the generated sequence. */
    @Test
    void textFormsRoundTrip() {
        for (String profile : new String[] {"bounded", "long", "full"}) {
            Set<String> distinct = new HashSet<>();
            for (int i = 0; i < 500; i++) {
                Seq seq = Gen.sequence(Campaign.seqSeed(7, i), Profile.of(profile));
                Seq back = Seq.parse(seq.text());
                assertEquals(seq.stack(), back.stack(), seq.text());
                assertEquals(seq.ops(), back.ops(), seq.text());
                assertEquals(seq.text(), Gen.sequence(Campaign.seqSeed(7, i), Profile.of(profile)).text(),
                        "a seed gives the same sequence every time");
                distinct.add(seq.text());
            }
            assertEquals(500, distinct.size(), "sequences repeat");
        }
    }
}
