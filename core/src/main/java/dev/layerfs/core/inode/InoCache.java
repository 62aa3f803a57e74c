package dev.layerfs.core.inode;

import java.util.Arrays;

/**
 * A bounded map from an upper object's inode number to the number the merged view shows for it, in two
 * primitive arrays (open addressing). It starts small and doubles as it fills, up to a fixed size; full at that
 * size it starts over: a miss costs one xattr read, so memory stays bounded whatever the number of files.
 */
final class InoCache {
    private static final long EMPTY = Long.MIN_VALUE;
    private static final int INITIAL = 1 << 10;

    private final int maxCapacity;
    private long[] keys;
    private long[] values;
    private int size;

    /** @param maxCapacity the most slots (a power of two); 16 bytes each */
    InoCache(int maxCapacity) {
        this.maxCapacity = maxCapacity;
        allocate(Math.min(INITIAL, maxCapacity));
    }

    private void allocate(int capacity) {
        keys = new long[capacity];
        values = new long[capacity];
        Arrays.fill(keys, EMPTY);
        size = 0;
    }

    /** The value for {@code key}, or {@code missing}. */
    synchronized long get(long key, long missing) {
        int mask = keys.length - 1;
        for (int i = slot(key, mask); ; i = (i + 1) & mask) {
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
        if (size >= keys.length / 4 * 3) {
            grow();
        }
        insert(key, value);
    }

    /** Doubles the table, keeping what it holds; at the largest size, starts over. */
    private void grow() {
        long[] oldKeys = keys;
        long[] oldValues = values;
        if (oldKeys.length >= maxCapacity) {
            allocate(oldKeys.length);
            return;
        }
        allocate(oldKeys.length * 2);
        for (int i = 0; i < oldKeys.length; i++) {
            if (oldKeys[i] != EMPTY) {
                insert(oldKeys[i], oldValues[i]);
            }
        }
    }

    private void insert(long key, long value) {
        int mask = keys.length - 1;
        int i = slot(key, mask);
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
        int mask = keys.length - 1;
        int i = slot(key, mask);
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
            insert(k, v);
        }
    }

    synchronized int size() {
        return size;
    }

    synchronized int capacity() {
        return keys.length;
    }

    private static int slot(long key, int mask) {
        long h = key * 0x9E3779B97F4A7C15L;
        return (int) (h ^ (h >>> 32)) & mask;
    }
}
