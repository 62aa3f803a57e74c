package dev.layerfs.core.inode;

import java.util.Arrays;

/**
 * A bounded map from an upper object's inode number to the number the merged view shows for it, in two
 * primitive arrays (open addressing). When three quarters full it starts over: a miss costs one xattr read, so
 * memory stays fixed whatever the number of files.
 */
final class InoCache {
    private static final long EMPTY = Long.MIN_VALUE;

    private final long[] keys;
    private final long[] values;
    private final int mask;
    private final int limit;
    private int size;

    InoCache(int capacityPowerOfTwo) {
        keys = new long[capacityPowerOfTwo];
        values = new long[capacityPowerOfTwo];
        mask = capacityPowerOfTwo - 1;
        limit = capacityPowerOfTwo / 4 * 3;
        Arrays.fill(keys, EMPTY);
    }

    /** The value for {@code key}, or {@code missing}. */
    synchronized long get(long key, long missing) {
        for (int i = slot(key); ; i = (i + 1) & mask) {
            long k = keys[i];
            if (k == key) {
                return values[i];
            }
            if (k == EMPTY) {
                return missing;
            }
        }
    }

    synchronized void put(long key, long value) {
        if (size >= limit) {
            Arrays.fill(keys, EMPTY);
            size = 0;
        }
        int i = slot(key);
        while (keys[i] != EMPTY && keys[i] != key) {
            i = (i + 1) & mask;
        }
        if (keys[i] == EMPTY) {
            size++;
        }
        keys[i] = key;
        values[i] = value;
    }

    /** Drops a key, moving later entries of its run back so that every lookup still finds them. */
    synchronized void remove(long key) {
        int i = slot(key);
        while (keys[i] != key) {
            if (keys[i] == EMPTY) {
                return;
            }
            i = (i + 1) & mask;
        }
        keys[i] = EMPTY;
        size--;
        for (int j = (i + 1) & mask; keys[j] != EMPTY; j = (j + 1) & mask) {
            long k = keys[j];
            long v = values[j];
            keys[j] = EMPTY;
            size--;
            put(k, v);
        }
    }

    synchronized int size() {
        return size;
    }

    private int slot(long key) {
        long h = key * 0x9E3779B97F4A7C15L;
        return (int) (h ^ (h >>> 32)) & mask;
    }
}
