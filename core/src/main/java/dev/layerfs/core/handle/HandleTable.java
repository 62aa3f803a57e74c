package dev.layerfs.core.handle;

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/** Numbered handles for open objects, as FUSE's {@code fh}: numbers are never reused while the table lives. */
public final class HandleTable<T> {
    private final ConcurrentHashMap<Long, T> handles = new ConcurrentHashMap<>();
    private final AtomicLong next = new AtomicLong(1);

    public long add(T value) {
        long id = next.getAndIncrement();
        handles.put(id, value);
        return id;
    }

    /** The object of a handle, or null for an unknown number. */
    public T get(long id) {
        return handles.get(id);
    }

    public T remove(long id) {
        return handles.remove(id);
    }

    public int size() {
        return handles.size();
    }
}
