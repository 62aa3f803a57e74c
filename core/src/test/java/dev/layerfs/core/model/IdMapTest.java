package dev.layerfs.core.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.OptionalInt;
import org.junit.jupiter.api.Test;

/** Parsing fuse-overlayfs's {@code uidmapping=} form and mapping both ways. */
class IdMapTest {
    @Test
    void theLeadingColonContainerToolsWriteIsSkipped() throws Exception {
        IdMap m = IdMap.parse("uidmapping", ":0:100000:65536");
        assertEquals(List.of(new IdMap.Range(0, 100000, 65536)), m.ranges());
        assertEquals(m.ranges(), IdMap.parse("uidmapping", "0:100000:65536").ranges());
    }

    @Test
    void severalRangesInOneValue() throws Exception {
        IdMap m = IdMap.parse("uidmapping", "0:1000:1:1:110000:65536");
        assertEquals(1000, m.shown(0));
        assertEquals(110000, m.shown(1));
        assertEquals(110004, m.shown(5));
        assertEquals(0, m.stored(1000));
        assertEquals(5, m.stored(110004));
    }

    @Test
    void storedIdsInsideARangeAreShiftedOutward() throws Exception {
        IdMap m = IdMap.parse("uidmapping", "0:100000:65536");
        assertEquals(100000, m.shown(0));
        assertEquals(100000 + 65535, m.shown(65535));
    }

    @Test
    void storedIdsOutsideEveryRangeShowAsTheOverflowId() throws Exception {
        IdMap m = IdMap.parse("uidmapping", "0:100000:1000");
        assertEquals(IdMap.OVERFLOW_ID, m.shown(1000));
        assertEquals(IdMap.OVERFLOW_ID, m.shown(-2), "4294967294");
    }

    @Test
    void storedIdsThatAreAlreadyShownIdsStayAsTheyAre() throws Exception {
        // podman 4.3 --uidmap: the lower layers come through an idmapped mount (already 100000+), the upper does not.
        IdMap m = IdMap.parse("uidmapping", ":0:100000:65536");
        assertEquals(100007, m.shown(100007));
        assertEquals(100000, m.shown(0));
    }

    @Test
    void theCanonicalFormOfAStoredIdIsTheStoredFormOfWhatItShows() throws Exception {
        IdMap m = IdMap.parse("uidmapping", ":0:100000:65536");
        assertEquals(7, m.canonical(7), "a stored id stays");
        assertEquals(7, m.canonical(100007), "an already shifted id is stored as the id it stands for");
        assertEquals(70000, m.canonical(70000), "in neither range: unchanged");
        assertEquals(200000, m.canonical(200000), "above both: unchanged");
        assertEquals(123, IdMap.IDENTITY.canonical(123));
    }

    @Test
    void givenIdsAreShiftedBackInwardAndUnmappedOnesStoredAsTheOverflowId() throws Exception {
        IdMap m = IdMap.parse("uidmapping", "0:100000:65536");
        assertEquals(0, m.stored(100000));
        assertEquals(65535, m.stored(165535));
        assertEquals(IdMap.OVERFLOW_ID, m.stored(0), "host root is not mapped");
        assertEquals(IdMap.OVERFLOW_ID, m.stored(165536));
    }

    @Test
    void theFirstMatchingRangeWins() throws Exception {
        IdMap m = IdMap.parse("uidmapping", "0:10:5:0:20:5");
        assertEquals(10, m.shown(0));
        assertEquals(0, m.stored(20));
    }

    @Test
    void noMappingPassesEveryIdThrough() {
        assertTrue(IdMap.IDENTITY.isIdentity());
        assertEquals(1234, IdMap.IDENTITY.shown(1234));
        assertEquals(1234, IdMap.IDENTITY.stored(1234));
    }

    @Test
    void idsUpToTheLargestFit() throws Exception {
        IdMap m = IdMap.parse("gidmapping", "4294967295:0:1");
        assertEquals(0, m.shown(-1));
        assertEquals(-1, m.stored(0));
    }

    @Test
    void badInputIsRefusedWithOneLine() {
        for (String bad : List.of("", ":", "0:1", "0:1:2:3", "a:1:2", "0:1:0", "-1:0:1", "0:1:2x", "4294967296:0:1",
                "4294967295:0:2", "0:4294967295:2", " 0:1:2", "0x10:1:2")) {
            ConfigException e = assertThrows(ConfigException.class, () -> IdMap.parse("uidmapping", bad), bad);
            assertTrue(e.getMessage().startsWith("malformed option uidmapping=" + bad + ": "), e.getMessage());
            assertTrue(!e.getMessage().contains("\n"), e.getMessage());
        }
    }

    @Test
    void aSquashChangesOnlyWhatIsShown() throws Exception {
        IdMapping ids = IdMapping.of(IdMap.parse("uidmapping", "0:100000:65536"), IdMap.IDENTITY)
                .withSquash(OptionalInt.of(0), OptionalInt.of(7));
        assertEquals(0, ids.shownUid(5));
        assertEquals(7, ids.shownGid(5));
        assertEquals(3, ids.storedUid(100003));
        assertEquals(5, ids.storedGid(5));
        assertEquals(-1, ids.storedUid(-1), "chown's unchanged stays unchanged");
        assertEquals(-1, ids.storedGid(-1));
    }
}
