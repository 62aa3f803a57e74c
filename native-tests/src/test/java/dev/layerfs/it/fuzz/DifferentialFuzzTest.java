package dev.layerfs.it.fuzz;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.layerfs.core.nativeio.Syscalls;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
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

    /**
     * The bounded campaign's sequences hold what issue 14 asks the generator for: names of bytes beyond ASCII, of
     * exactly 255 bytes and of 251 to 254, paths from the mount root of 3,900 bytes and more, O_DIRECT opens with
     * aligned and misaligned I/O, and the operations whose inode numbers are compared across a copy-up; the full
     * profile (without the TEMPORARY entries) also names that are not UTF-8 and paths up to PATH_MAX. Every text
     * form is canonical: its bytes give it back.
     */
    @Test
    void boundedCampaignCoversTheNewInputs() {
        Map<String, Integer> bounded = features("bounded");
        for (String f : List.of("non-ASCII name", "255-byte name", "251-254-byte name", "path >= 3900 from the root",
                "O_DIRECT open", "aligned O_DIRECT I/O", "misaligned O_DIRECT I/O", "copy-up operation",
                "odd ASCII name")) {
            assertTrue(bounded.getOrDefault(f, 0) >= 5, "the bounded campaign has too few of: " + f + " " + bounded);
        }
        Map<String, Integer> full = features("full");
        for (String f : List.of("name not UTF-8", "path >= 4080 from the root")) {
            assertTrue(full.getOrDefault(f, 0) >= 5, "the full profile has too few of: " + f + " " + full);
        }
    }

    /** How many of the bounded campaign's sequences (its seed and count, in a profile) hold each input class. */
    private static Map<String, Integer> features(String profile) {
        Map<String, Integer> count = new TreeMap<>();
        for (int i = 0; i < BOUNDED_SEQS; i++) {
            Seq seq = Gen.sequence(Campaign.seqSeed(BOUNDED_SEED, i), Profile.of(profile));
            Set<String> found = new HashSet<>();
            List<String> texts = new ArrayList<>(seq.stack().paths());
            for (Op op : seq.ops()) {
                // An xattr value is "=" and the value's text form.
                op.args().forEach(a -> texts.add(a.startsWith("=") ? a.substring(1) : a));
                if (op.name().equals("open") && op.arg(2).contains("DIRECT")) {
                    found.add("O_DIRECT open");
                }
                if (op.name().equals("dwrite") || op.name().equals("dread")) {
                    boolean aligned = Long.parseLong(op.arg(1)) % 4096 == 0 && Long.parseLong(op.arg(2)) % 4096 == 0
                            && op.arg(op.args().size() - 1).equals("0");
                    found.add(aligned ? "aligned O_DIRECT I/O" : "misaligned O_DIRECT I/O");
                }
                if (List.of("chmod", "chown", "lchown", "utimens", "lutimens", "setxattr", "truncate", "link",
                        "rename").contains(op.name())) {
                    found.add("copy-up operation");
                }
            }
            for (String t : texts) {
                String bytes = ByteNames.bytes(t);
                assertEquals(t, ByteNames.text(bytes), "not canonical: " + t);
                if (bytes.length() + 4 >= 3900) {
                    found.add("path >= 3900 from the root");
                }
                if (bytes.length() + 4 >= 4080) {
                    found.add("path >= 4080 from the root");
                }
                for (String c : bytes.split("/")) {
                    if (c.length() == 255) {
                        found.add("255-byte name");
                    } else if (c.length() >= 251) {
                        found.add("251-254-byte name");
                    }
                    if (c.chars().anyMatch(ch -> ch >= 0x80)) {
                        found.add(new String(c.getBytes(java.nio.charset.StandardCharsets.ISO_8859_1),
                                java.nio.charset.StandardCharsets.UTF_8).contains("\ufffd")
                                ? "name not UTF-8" : "non-ASCII name");
                    }
                    if (c.chars().anyMatch(ch -> ch <= 0x20 || "%:,?=".indexOf(ch) >= 0)) {
                        found.add("odd ASCII name");
                    }
                }
            }
            found.forEach(f -> count.merge(f, 1, Integer::sum));
        }
        return count;
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
