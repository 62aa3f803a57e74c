package dev.layerfs.image.store;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A mount's record as image mount writes it without Jackson: Jackson reads back every field, a path of any bytes
 * included, and its directory is named by the same SHA-256 as the JDK computes.
 */
class MountRecordsTest {
    @TempDir
    Path tmp;

    @Test
    void sha256IsTheJdksForEveryPaddingCase() throws Exception {
        Random random = new Random(42);
        for (int n = 0; n < 300; n++) {
            byte[] data = new byte[n];
            random.nextBytes(data);
            assertArrayEquals(MessageDigest.getInstance("SHA-256").digest(data), Sha256.of(data), "length " + n);
        }
        assertEquals("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
                Digest.fromBytes(Sha256.of("abc".getBytes(StandardCharsets.US_ASCII))).hex());
    }

    @Test
    void aRecordReadsBackAsWrittenWhateverItsPathsHold() throws Exception {
        LayerStore store = LayerStore.open(tmp.resolve("store"));
        MountRecords records = new MountRecords(store);
        // quotes, a backslash, control characters, DEL and a byte that is not UTF-8 (one char each in ISO-8859-1)
        Path mnt = Path.of("/m \"q\" back\\slash\nline\ttab\u0001\u007f\u00e9\u00ff");
        Path upper = Path.of("/u\"\\\u001f");
        Digest manifest = Digest.of("manifest".getBytes(StandardCharsets.UTF_8));
        Digest config = Digest.of("config".getBytes(StandardCharsets.UTF_8));
        List<Digest> layers = List.of(Digest.of(new byte[] {1}), Digest.of(new byte[] {2}));
        Files.createDirectories(records.dirFor(mnt).resolve("tmp/left-behind"));

        MountRecords.Record r = records.create(mnt, manifest, config, layers, Optional.of(upper), true, true);

        assertEquals(records.dirFor(mnt), r.dir());
        assertEquals(List.of("mount.json", "tmp"), names(r.dir()), "an earlier record's directory is emptied");
        assertEquals(List.of(), names(r.tmpDir()));
        JsonNode n = Json.parse(Files.readAllBytes(r.dir().resolve("mount.json")), "mount.json");
        assertEquals(mnt.toString(), n.get("mountPoint").asText());
        assertEquals(manifest.toString(), n.get("manifest").asText());
        assertEquals(config.toString(), n.get("config").asText());
        assertEquals(2, n.get("layers").asInt());
        assertEquals(layers.get(0).toString(), n.get("diffIds").get(0).asText());
        assertEquals(layers.get(1).toString(), n.get("diffIds").get(1).asText());
        assertEquals(2, n.get("diffIds").size());
        assertEquals(upper.toString(), n.get("upperDir").asText());
        assertTrue(n.get("ephemeral").asBoolean());
        assertEquals(ProcessHandle.current().pid(), n.get("pid").asLong());
        assertEquals(startTicksOfThisProcess(), n.get("pidStartTicks").asLong());
        long pid = ProcessHandle.current().pid();
        assertEquals(Optional.of(new MountRecords.Maker(pid, startTicksOfThisProcess(), true)), r.maker());
        assertEquals(Optional.empty(), records.find(mnt), "not mounted, so not found");

        MountRecords.Record plain = records.create(Path.of("/plain"), manifest, config, layers, Optional.empty(),
                false, false);
        JsonNode p = Json.parse(Files.readAllBytes(plain.dir().resolve("mount.json")), "mount.json");
        assertFalse(p.has("upperDir"));
        assertFalse(p.has("pid"));
        assertFalse(p.get("ephemeral").asBoolean());
    }

    @Test
    void aMakerRunsWhileItsPidHasItsStartByEitherClock() throws Exception {
        long pid = ProcessHandle.current().pid();
        long ticks = startTicksOfThisProcess();
        long millis = ProcessHandle.current().info().startInstant().orElseThrow().toEpochMilli();
        assertTrue(new MountRecords.Maker(pid, ticks, true).running());
        assertFalse(new MountRecords.Maker(pid, ticks + 1, true).running(), "the pid reused by a later process");
        assertTrue(new MountRecords.Maker(pid, millis, false).running(), "a record written with ProcessHandle's");
        assertFalse(new MountRecords.Maker(pid, millis - 10, false).running());
        Process gone = new ProcessBuilder("true").start();
        gone.waitFor();
        assertFalse(new MountRecords.Maker(gone.pid(), ticks, true).running());
    }

    /** The 22nd field of /proc/self/stat, after the command name in parentheses. */
    private static long startTicksOfThisProcess() throws Exception {
        String stat = Files.readString(Path.of("/proc/self/stat"), StandardCharsets.ISO_8859_1);
        return Long.parseLong(stat.substring(stat.lastIndexOf(')') + 2).split(" ")[19]);
    }

    private static List<String> names(Path dir) throws Exception {
        try (var s = Files.list(dir)) {
            return s.map(q -> q.getFileName().toString()).sorted().toList();
        }
    }
}
