package dev.layerfs.it.fuzz;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.layerfs.core.nativeio.Syscalls;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

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

    /** Layerfs's side gets the AUFS dialect in the layers marked so, the kernel's side the kernel's. */
    @Test
    void aufsLayersAreWrittenInAufsFormOnLayerfsSideOnly(@TempDir Path tmp)
            throws Exception {
        assumeTrue(Syscalls.get().geteuid() == 0, "trusted xattrs and mknod need root");
        Stack st = Seq.parse("""
                lowers 2 aufs 1
                L1 dir . 0755 0:0 1100000000.000000001
                L1 wh gone
                L1 dir d 0755 0:0 1100000000.000000002 opaque
                L2 dir . 0755 0:0 1100000000.000000001
                L2 wh gone2
                --
                stat d
                """).stack();
        for (boolean layerfsSide : new boolean[] {false, true}) {
            Path side = tmp.resolve(layerfsSide ? "l" : "k");
            List<Path> roots = List.of(side.resolve("u"), side.resolve("1"),
                    side.resolve("2"));
            for (Path r : roots) {
                Files.createDirectories(r.getParent());
            }
            st.materialize(roots, layerfsSide);
            Path l1 = roots.get(1);
            assertEquals(layerfsSide, Files.isRegularFile(l1.resolve(".wh.gone")));
            assertEquals(layerfsSide, Files.isRegularFile(l1.resolve("d/.wh..wh..opq")));
            assertEquals(!layerfsSide, Files.exists(l1.resolve("gone"), LinkOption.NOFOLLOW_LINKS));
            assertTrue(Files.exists(roots.get(2).resolve("gone2"), LinkOption.NOFOLLOW_LINKS),
                    "layer 2 is not marked aufs: a character device on both sides");
        }
    }
}
