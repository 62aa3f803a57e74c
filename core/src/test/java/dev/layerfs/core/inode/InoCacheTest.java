package dev.layerfs.core.inode;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashMap;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

class InoCacheTest {
    private static final long MISSING = -1;

    @Test
    void behavesAsAMapUntilFullThenStartsOver() {
        InoCache cache = new InoCache(1 << 12);
        Map<Long, Long> model = new HashMap<>();
        Random r = new Random(3);
        for (int n = 0; n < 200_000; n++) {
            long key = r.nextInt(2_500);
            if (r.nextInt(4) == 0) {
                cache.remove(key);
                model.remove(key);
            } else {
                long value = r.nextLong();
                cache.put(key, value);
                model.put(key, value);
            }
            assertEquals(model.size(), cache.size());
            long probe = r.nextInt(2_500);
            assertEquals(model.getOrDefault(probe, MISSING), cache.get(probe, MISSING), "key " + probe);
        }
        assertTrue(cache.capacity() <= 1 << 12);
    }

    @Test
    void memoryStaysBounded() {
        InoCache cache = new InoCache(1 << 11);
        for (long k = 0; k < 100_000; k++) {
            cache.put(k, k + 1);
            assertEquals(k + 1, cache.get(k, MISSING), "the last key put is always there");
        }
        assertEquals(1 << 11, cache.capacity());
        assertTrue(cache.size() <= (1 << 11) / 4 * 3);
    }
}
